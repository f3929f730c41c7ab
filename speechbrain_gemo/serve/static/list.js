// The list of calls: live ones and the finished ones of --out_dir, newest
// first, polled every two seconds.
"use strict";

(() => {
  const POLL_MS = 2000;
  let config = null;

  function shareBar(roleShares) {
    const bar = gemo.el("span", { class: "bar-stack" });
    for (const label of config.labels) {
      const share = roleShares[label] || 0;
      if (share <= 0) continue;
      const part = gemo.el("span", { title: gemo.word(config, label) + " " + gemo.percent(share), "data-label": label });
      part.style.width = (100 * share).toFixed(2) + "%";
      part.style.background = config.colours[label];
      bar.append(part);
    }
    return bar;
  }

  function roleCell(call) {
    const cell = gemo.el("td", { class: "roles" });
    for (const role of call.roles) {
      const shares = (call.shares || {})[role] || {};
      const ordered = config.labels
        .filter((label) => (shares[label] || 0) > 0)
        .sort((a, b) => shares[b] - shares[a]);
      const text = ordered.length
        ? ordered.map((label) => gemo.word(config, label) + " " + gemo.percent(shares[label])).join(" · ")
        : "no speech yet";
      cell.append(gemo.el("div", { class: "role-share", "data-role": role },
        gemo.el("span", { class: "name", text: role }),
        shareBar(shares),
        gemo.el("span", { class: "shares-text", text })));
    }
    return cell;
  }

  function row(call) {
    const alerted = call.alerts && call.alerts.length > 0;
    const link = gemo.el("a", { href: "/call/" + encodeURIComponent(call.call_id), text: call.call_id });
    const status = call.live
      ? gemo.el("span", { class: "status live", text: "live" })
      : gemo.el("span", { class: "status ended", text: "ended (" + (call.ended || "?") + ")" });
    const alertsCell = gemo.el("td", { class: "alerts-cell" });
    if (alerted) {
      const last = call.alerts[call.alerts.length - 1];
      alertsCell.append(gemo.el("span", {
        class: "alert-badge",
        title: call.alerts.map((a) => gemo.alertText(config, a)).join("\n"),
        text: "⚠ " + call.alerts.length + " alert" + (call.alerts.length > 1 ? "s" : "") +
          ": " + last.speaker + " " + gemo.word(config, last.label) + " at " + gemo.clock(last.end),
      }));
    }
    return gemo.el("tr", { "data-call-id": call.call_id, class: alerted ? "alerted" : null },
      gemo.el("td", {}, link),
      gemo.el("td", {}, status),
      gemo.el("td", { text: gemo.date(call.started_at) }),
      gemo.el("td", { text: gemo.clock(call.seconds) }),
      roleCell(call),
      alertsCell);
  }

  async function refresh() {
    const state = document.getElementById("state");
    try {
      const data = await gemo.getJSON("/page/calls");
      const table = document.getElementById("calls");
      table.tBodies[0].replaceChildren(...data.calls.map(row));
      table.hidden = data.calls.length === 0;
      const live = data.calls.filter((c) => c.live).length;
      state.textContent = data.calls.length
        ? live + " live, " + (data.calls.length - live) + " finished" + (config.out_dir ? "" : " (no --out_dir: finished calls are not kept)")
        : "No calls yet." + (config.out_dir ? "" : " Finished calls are listed when the server runs with --out_dir.");
    } catch (err) {
      state.textContent = "Cannot load the calls: " + err.message;
    }
    window.setTimeout(refresh, POLL_MS);
  }

  async function start() {
    config = await gemo.getJSON("/page/config");
    gemo.showLogout(config);
    gemo.legend(document.getElementById("legend"), config);
    document.getElementById("rules").textContent = config.alerts.length
      ? "Alerts: " + config.alerts.join(", ")
      : "No alert rule";
    refresh();
  }

  start();
})();
