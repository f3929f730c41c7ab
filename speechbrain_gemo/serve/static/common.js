// Helpers shared by the list and the call page (plain JavaScript, no
// libraries). Classes, words and colours come from GET /page/config, i.e.
// from Python (speechbrain_gemo.plotting.class_colours).
"use strict";

const gemo = (() => {
  const SVG = "http://www.w3.org/2000/svg";

  async function getJSON(url) {
    const response = await fetch(url, { cache: "no-store", credentials: "same-origin" });
    if (response.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
      throw new Error("not logged in");
    }
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(url + ": HTTP " + response.status);
    return response.json();
  }

  // An element with attributes (class, text, data-*; never inline styles,
  // which the page's Content-Security-Policy forbids) and children.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    return node;
  }

  function clock(seconds) {
    const s = Math.max(0, Math.round(seconds || 0));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
  }

  function date(epoch) {
    if (!epoch) return "";
    return new Date(epoch * 1000).toLocaleString();
  }

  function percent(share) {
    return Math.round(100 * (share || 0)) + " %";
  }

  function word(config, label) {
    return (config.words && config.words[label]) || label;
  }

  function swatch(config, label) {
    const node = el("span", { class: "swatch", title: word(config, label) });
    node.style.background = config.colours[label] || "#999999";
    return node;
  }

  function legend(node, config) {
    node.replaceChildren(...config.labels.map((label) => {
      const name = word(config, label);
      const code = (config.codes && config.codes[label]) || label;
      const text = code === name ? name : name + " (" + code + ")";
      return el("span", { class: "item", "data-label": label }, swatch(config, label), el("span", { text }));
    }));
  }

  function alertText(config, alert) {
    return alert.speaker + ": " + word(config, alert.label) + " " + percent(alert.share) +
      " of " + alert.windows + " windows, " + clock(alert.start) + "–" + clock(alert.end) +
      " (" + alert.rule + ")";
  }

  function showLogout(config) {
    const form = document.getElementById("logout");
    if (form && config.login) form.hidden = false;
  }

  function socketURL(path) {
    return (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + path;
  }

  return { getJSON, el, svg, clock, date, percent, word, swatch, legend, alertText, showLogout, socketURL };
})();
