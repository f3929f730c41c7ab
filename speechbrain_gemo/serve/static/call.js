// A call's page: one lane per role, each window's hop shaded in the colour
// of its class with the class probabilities as lines; live calls follow
// WebSocket /v1/calls/{id}/events, finished ones show their summary and,
// when the server keeps audio, play it with a cursor on the lanes.
"use strict";

(() => {
  const LANE_HEIGHT = 84;
  const PAD = 6;
  const ROLE_WIDTH = 100;
  const MIN_PX_PER_SECOND = 6;

  const callId = decodeURIComponent(window.location.pathname.replace(/^\/call\//, ""));
  const state = {
    config: null, roles: [], rows: [], keys: new Set(), alerts: [], alertKeys: new Set(),
    live: false, finished: false, hop: null, seconds: 0, summary: null, audio: null,
    pxPerSecond: 20, drawn: false, socket: null,
  };

  function rowKey(row) { return row.speaker + "|" + Number(row.start).toFixed(3); }

  function addRow(row) {
    const key = rowKey(row);
    if (state.keys.has(key)) return false;
    state.keys.add(key);
    state.rows.push(row);
    if (!state.roles.includes(row.speaker)) state.roles.push(row.speaker);
    state.seconds = Math.max(state.seconds, row.end || 0);
    return true;
  }

  function addAlert(alert) {
    const key = alert.rule + "|" + alert.end;
    if (state.alertKeys.has(key)) return;
    state.alertKeys.add(key);
    state.alerts.push(alert);
  }

  // The stretch of time a window stands for: the hop around its centre.
  function span(row) {
    const centre = (row.start + row.end) / 2;
    const length = Math.min(state.hop || (row.end - row.start), row.end - row.start);
    return [centre - length / 2, centre + length / 2];
  }

  let pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(() => { pending = false; draw(); });
  }

  function draw() {
    const config = state.config;
    const box = document.getElementById("lanes-box");
    const available = Math.max(200, box.clientWidth - ROLE_WIDTH - 4);
    const duration = Math.max(state.seconds, 10);
    state.pxPerSecond = Math.max(MIN_PX_PER_SECOND, available / duration);
    const width = Math.ceil(duration * state.pxPerSecond);
    const x = (t) => (t * state.pxPerSecond).toFixed(1);
    const y = (p) => (PAD + (1 - p) * (LANE_HEIGHT - 2 * PAD)).toFixed(1);
    const lanes = state.roles.map((role) => {
      const mine = state.rows.filter((r) => r.speaker === role).sort((a, b) => a.start - b.start);
      const plot = gemo.svg("svg", { width, height: LANE_HEIGHT, "data-role": role, class: "lane-plot" });
      for (const p of [0.25, 0.5, 0.75]) {
        plot.append(gemo.svg("line", { class: "grid", x1: 0, x2: width, y1: y(p), y2: y(p) }));
      }
      const paths = Object.fromEntries(config.labels.map((label) => [label, []]));
      let lastEnd = null;
      for (const row of mine) {
        const [a, b] = span(row);
        const rect = gemo.svg("rect", {
          x: x(a), y: 0, width: Math.max(1, (b - a) * state.pxPerSecond).toFixed(1), height: LANE_HEIGHT,
          class: row.error ? "segment error" : "segment", "data-start": a.toFixed(3),
          "data-label": row.label || "",
        });
        const title = gemo.svg("title", {});
        title.textContent = row.error
          ? gemo.clock(row.start) + " failed: " + row.error
          : row.speaker + " " + a.toFixed(1) + "–" + b.toFixed(1) + " s: " + gemo.word(config, row.label) +
            " (" + gemo.percent(row.score) + ")";
        rect.append(title);
        if (!row.error) {
          rect.setAttribute("fill", config.colours[row.label] || "#999999");
          rect.setAttribute("fill-opacity", "0.32");
          const joined = lastEnd !== null && a - lastEnd < 1e-3;
          for (const label of config.labels) {
            const p = row.probs ? row.probs[label] : null;
            if (p === null || p === undefined) continue;
            paths[label].push((joined ? "L" : "M") + x(a) + " " + y(p) + "L" + x(b) + " " + y(p));
          }
          lastEnd = b;
        } else {
          lastEnd = null;
        }
        rect.addEventListener("click", () => playFrom(a));
        plot.append(rect);
      }
      for (const label of config.labels) {
        if (!paths[label].length) continue;
        plot.append(gemo.svg("path", { class: "prob", d: paths[label].join(""), stroke: config.colours[label], "data-label": label }));
      }
      const speech = mine.filter((r) => !r.error).length;
      const name = gemo.el("div", { class: "role" }, document.createTextNode(role),
        gemo.el("small", { text: speech + " windows" }));
      return gemo.el("div", { class: "lane", "data-role": role }, name, plot);
    });
    lanes.push(axis(width, duration));
    document.getElementById("lanes").replaceChildren(...lanes);
    if (state.live) box.scrollLeft = box.scrollWidth;
    drawCursor();
  }

  function axis(width, duration) {
    const plot = gemo.svg("svg", { width, height: 18 });
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
    const step = steps.find((s) => s * state.pxPerSecond >= 60) || 3600;
    for (let t = 0; t <= duration; t += step) {
      const text = gemo.svg("text", { x: (t * state.pxPerSecond + 2).toFixed(1), y: 13 });
      text.textContent = gemo.clock(t);
      plot.append(text);
    }
    return gemo.el("div", { class: "axis" }, gemo.el("div", { class: "role" }), plot);
  }

  function drawAlerts() {
    const box = document.getElementById("alerts");
    box.replaceChildren(...state.alerts.map((alert) =>
      gemo.el("div", { class: "alert", "data-rule": alert.rule }, document.createTextNode("⚠ Alert: " + gemo.alertText(state.config, alert)))));
  }

  // The call summary of infer --summary, per role: speech time, share of
  // each class (and its seconds), where its longest stretch was
  function drawSummary() {
    const summary = state.summary;
    const section = document.getElementById("summary-box");
    if (!summary) { section.hidden = true; return; }
    const config = state.config;
    const table = document.getElementById("summary");
    const head = gemo.el("tr", {}, gemo.el("th", { text: "Role" }), gemo.el("th", { text: "Speech" }),
      ...config.labels.map((label) => gemo.el("th", {}, gemo.swatch(config, label), document.createTextNode(" " + gemo.word(config, label)))));
    const roles = Object.keys(summary.speakers).sort((a, b) => a.localeCompare(b));
    const body = roles.map((role) => {
      const info = summary.speakers[role];
      const speech = info.speech_seconds || 0;
      const shares = config.labels.map((label) => (info.share || {})[label] || 0);
      const top = Math.max(...shares);
      return gemo.el("tr", { "data-role": role },
        gemo.el("td", { text: role }),
        gemo.el("td", { text: speech.toFixed(1) + " s" }),
        ...config.labels.map((label, k) => {
          const longest = (info.longest || {})[label];
          return gemo.el("td", {
            class: shares[k] === top && top > 0 ? "top" : null,
            "data-label": label,
            title: longest ? "longest stretch " + gemo.clock(longest[0]) + "–" + gemo.clock(longest[1]) : null,
            text: gemo.percent(shares[k]) + " (" + (shares[k] * speech).toFixed(1) + " s)",
          });
        }));
    });
    table.replaceChildren(gemo.el("thead", {}, head), gemo.el("tbody", {}, ...body));
    section.hidden = false;
  }

  function drawStatus(call) {
    const status = document.getElementById("status");
    if (state.live) {
      status.className = "status live";
      status.textContent = "live · " + gemo.clock(state.seconds);
    } else if (state.finished) {
      status.className = "status ended";
      status.textContent = "ended (" + (call && call.ended || "?") + ") · " + gemo.clock(call ? call.seconds : state.seconds) +
        (call && call.started_at ? " · " + gemo.date(call.started_at) : "");
    } else {
      status.className = "status";
      status.textContent = "waiting for the call";
    }
  }

  function playFrom(seconds) {
    const audio = state.audio;
    if (!audio) return;
    audio.currentTime = seconds;
    audio.play();
  }

  function drawCursor() {
    const cursor = document.getElementById("cursor");
    const audio = state.audio;
    if (!audio) { cursor.hidden = true; return; }
    cursor.hidden = false;
    cursor.style.left = (ROLE_WIDTH + audio.currentTime * state.pxPerSecond).toFixed(1) + "px";
  }

  function follow() {
    drawCursor();
    if (state.audio && !state.audio.paused) window.requestAnimationFrame(follow);
  }

  function showPlayer(call) {
    const player = document.getElementById("player");
    if (state.audio || !state.finished) return;
    if (call.audio) {
      const audio = gemo.el("audio", { controls: true, preload: "auto", src: "/page/calls/" + encodeURIComponent(callId) + "/audio" });
      audio.addEventListener("play", follow);
      audio.addEventListener("timeupdate", drawCursor);
      audio.addEventListener("seeked", drawCursor);
      state.audio = audio;
      player.replaceChildren(audio, gemo.el("p", { class: "muted", text: "Click a segment to play from there." }));
      drawCursor();
    } else {
      player.replaceChildren(gemo.el("p", { class: "muted", text: state.config.keep_audio
        ? "No audio was kept for this call."
        : "Audio is not kept (the server runs without --keep_audio)." }));
    }
  }

  function apply(detail) {
    const call = detail.call;
    if (!call.live) {
      // the archive's rows are the call's rows: drop what events drew
      state.rows = [];
      state.keys = new Set();
    }
    state.live = call.live;
    state.finished = !call.live;
    state.hop = call.hop;
    for (const role of call.roles) if (!state.roles.includes(role)) state.roles.push(role);
    for (const row of detail.rows) addRow(row);
    for (const alert of detail.alerts || []) addAlert(alert);
    if (detail.summary) state.summary = detail.summary;
    state.seconds = Math.max(state.seconds, call.seconds || 0);
    document.getElementById("state").textContent = state.live
      ? "Live: windows appear as the call goes on."
      : state.rows.length ? "" : "No speech was classified in this call.";
    drawStatus(call);
    drawAlerts();
    drawSummary();
    schedule();
    showPlayer(call);
    if (state.finished && state.socket) state.socket.close();
  }

  async function load(attempt) {
    let detail = null;
    try {
      detail = await gemo.getJSON("/page/calls/" + encodeURIComponent(callId));
    } catch (err) {
      document.getElementById("state").textContent = "Cannot load the call (" + err.message + "): trying again.";
    }
    if (detail) { apply(detail); return; }
    // Not live and not (yet) in --out_dir: a call about to start, or one
    // whose files are being written
    document.getElementById("state").textContent = "No call " + callId + " yet: waiting for it.";
    drawStatus(null);
    window.setTimeout(() => load(attempt + 1), Math.min(5000, 500 * (attempt + 1)));
  }

  function subscribe() {
    const socket = new WebSocket(gemo.socketURL("/v1/calls/" + encodeURIComponent(callId) + "/events"));
    state.socket = socket;
    socket.addEventListener("message", (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "emotion") {
        state.live = true;
        if (addRow(event)) { drawStatus(null); schedule(); }
      } else if (event.type === "error" && event.start !== undefined) {
        if (addRow({ speaker: event.speaker, start: event.start, end: event.end, error: event.message })) schedule();
      } else if (event.type === "alert") {
        addAlert(event);
        drawAlerts();
      } else if (event.type === "summary") {
        state.summary = { speakers: event.speakers };
        drawSummary();
      }
    });
    socket.addEventListener("close", () => {
      state.socket = null;
      if (!state.finished) {
        // the call ended (or the server went away): its files come next
        window.setTimeout(() => load(0), 300);
      }
    });
  }

  async function start() {
    document.getElementById("call-id").textContent = callId;
    document.title = callId + " · Calls";
    state.config = await gemo.getJSON("/page/config");
    gemo.showLogout(state.config);
    gemo.legend(document.getElementById("legend"), state.config);
    subscribe();
    await load(0);
    window.addEventListener("resize", schedule);
  }

  start();
})();
