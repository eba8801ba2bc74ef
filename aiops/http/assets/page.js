// aiops web page: polls the daemon's read-only JSON and draws it with inline SVG.
// No framework, no build step, nothing from another origin. Every string from the
// daemon (labels, reasons) is written with textContent, never parsed as markup.
"use strict";

const POLL_MS = 2000;
const LIST = 30;       // incidents listed
const DETAILED = 6;    // incidents drawn with their series and timeline
const EVENTS = 14;     // timeline events shown per incident
const SVG_NS = "http://www.w3.org/2000/svg";
const W = 760, H = 150, SCORE_H = 34, PAD_L = 56, PAD_R = 10, PAD_T = 14;

let clockName = "sim";

// -- DOM helpers ------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}

function sv(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

async function getJSON(path) {
  const r = await fetch(path, {credentials: "same-origin", cache: "no-store"});
  if (!r.ok) {
    let why = String(r.status);
    try { why += ": " + (await r.json()).error; } catch (_) { /* not JSON */ }
    throw new Error(path + " answered " + why);
  }
  return r.json();
}

// -- time -------------------------------------------------------------------------------

function hhmm(t) { return new Date(t * 1000).toISOString().slice(11, 16); }
function hhmmss(t) { return new Date(t * 1000).toISOString().slice(11, 19); }
function stamp(t) {
  return new Date(t * 1000).toISOString().slice(0, 19).replace("T", " ") + " UTC (" + clockName + ")";
}
function span(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return s + "s";
  if (s < 7200) return Math.round(s / 60) + "m";
  return (s / 3600).toFixed(1) + "h";
}
function fmt(v) {
  if (v === null || v === undefined) return "–";
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(2) + "G";
  if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

// -- charts -----------------------------------------------------------------------------

function scales(x0, x1, lo, hi, top, height) {
  if (!(hi > lo)) { hi = lo + 1; lo = lo - 1; }
  const pad = (hi - lo) * 0.08;
  lo -= pad; hi += pad;
  const dx = x1 > x0 ? x1 - x0 : 1;
  return {
    x: (t) => PAD_L + (t - x0) / dx * (W - PAD_L - PAD_R),
    y: (v) => top + (1 - (v - lo) / (hi - lo)) * height,
    lo, hi,
  };
}

function linePath(rows, xi, yi, s) {
  let d = "", pen = false;
  for (const r of rows) {
    if (r[yi] === null || r[xi] === null) { pen = false; continue; }
    d += (pen ? "L" : "M") + s.x(r[xi]).toFixed(1) + "," + s.y(r[yi]).toFixed(1);
    pen = true;
  }
  return d;
}

function bandPath(rows, xi, loI, hiI, s) {
  // One closed polygon per run of rows that have both edges.
  let d = "", run = [];
  const flush = () => {
    if (run.length > 1) {
      d += "M" + run.map((r) => s.x(r[xi]).toFixed(1) + "," + s.y(r[hiI]).toFixed(1)).join("L");
      d += "L" + run.slice().reverse()
        .map((r) => s.x(r[xi]).toFixed(1) + "," + s.y(r[loI]).toFixed(1)).join("L") + "Z";
    }
    run = [];
  };
  for (const r of rows) {
    if (r[loI] === null || r[hiI] === null || r[xi] === null) flush(); else run.push(r);
  }
  flush();
  return d;
}

function axes(g, s, x0, x1, top, height) {
  g.append(sv("line", {x1: PAD_L, x2: W - PAD_R, y1: top + height, y2: top + height, class: "axis"}));
  for (const v of [s.lo + (s.hi - s.lo) * 0.1, (s.lo + s.hi) / 2, s.hi - (s.hi - s.lo) * 0.1]) {
    g.append(sv("text", {x: PAD_L - 4, y: s.y(v) + 3, class: "tick", "text-anchor": "end"}, fmt(v)));
  }
  const n = 6;
  for (let i = 0; i <= n; i++) {
    const t = x0 + (x1 - x0) * i / n;
    const anchor = i === 0 ? "start" : (i === n ? "end" : "middle");
    g.append(sv("text", {x: s.x(t), y: top + height + 12, class: "tick", "text-anchor": anchor}, hhmm(t)));
  }
}

function seriesChart(data, series) {
  const rows = series.points;
  const x0 = data.start, x1 = data.end;
  let lo = Infinity, hi = -Infinity;
  for (const r of rows) {
    for (const v of [r[1], r[3], r[4]]) {
      if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    }
  }
  if (!isFinite(lo)) { lo = 0; hi = 1; }
  const plotH = H - PAD_T - 18;
  const total = H + SCORE_H + 14;
  const root = sv("svg", {viewBox: "0 0 " + W + " " + total, class: "chart",
    "data-series-key": series.key, "data-role": series.role, role: "img"});
  root.append(sv("title", {}, series.key + " (" + series.role + ")"));
  const s = scales(x0, x1, lo, hi, PAD_T, plotH);
  for (const [a, b] of series.episodes) {
    const xa = s.x(Math.max(a, x0)), xb = Math.max(s.x(Math.min(b, x1)), xa + 2);
    root.append(sv("rect", {x: xa, y: PAD_T, width: xb - xa, height: plotH + SCORE_H + 18,
      class: "episode"}));
  }
  root.append(sv("path", {d: bandPath(rows, 0, 3, 4, s), class: "band"}));
  root.append(sv("path", {d: linePath(rows, 0, 2, s), class: "expected"}));
  root.append(sv("path", {d: linePath(rows, 0, 1, s), class: "value", "data-points": rows.length}));
  axes(root, s, x0, x1, PAD_T, plotH);
  root.append(sv("text", {x: PAD_L + 4, y: PAD_T - 3, class: "label"},
    series.metric + " · " + series.role));
  // Score strip: 0..1 with the floor.
  const top2 = H + 2;
  const ss = {x: s.x, y: (v) => top2 + (1 - v) * SCORE_H};
  root.append(sv("rect", {x: PAD_L, y: top2, width: W - PAD_L - PAD_R, height: SCORE_H, class: "strip"}));
  root.append(sv("line", {x1: PAD_L, x2: W - PAD_R, y1: ss.y(data.floor), y2: ss.y(data.floor), class: "floor"}));
  root.append(sv("path", {d: linePath(rows, 0, 5, ss), class: "score"}));
  root.append(sv("text", {x: PAD_L - 4, y: top2 + 10, class: "tick", "text-anchor": "end"}, "score"));
  for (const m of data.marks) {
    if (m.t < x0 || m.t > x1) continue;
    const x = s.x(m.t);
    const g = sv("g", {class: "mark mark-" + m.kind + " code-" + m.code, "data-mark-kind": m.kind});
    g.append(sv("line", {x1: x, x2: x, y1: PAD_T, y2: top2 + SCORE_H}));
    g.append(sv("title", {}, m.label + " at " + stamp(m.t)));
    root.append(g);
  }
  return root;
}

function markLegend(marks) {
  const ul = el("ul", {class: "marks"});
  for (const m of marks) {
    ul.append(el("li", {class: "mark-" + m.kind + " code-" + m.code},
      el("span", {class: "swatch"}), hhmm(m.t) + " " + m.label));
  }
  return ul;
}

function forecastChart(w, start, now) {
  const fc = w.forecasts, demand = w.demand;
  let x1 = now;
  let lo = Infinity, hi = -Infinity;
  for (const f of fc) {
    x1 = Math.max(x1, f[0] + f[1]);
    for (const v of [f[2], f[3], f[4], f[5]]) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  }
  for (const d of demand) if (d[1] !== null) { lo = Math.min(lo, d[1]); hi = Math.max(hi, d[1]); }
  if (!isFinite(lo)) { lo = 0; hi = 1; }
  lo = Math.min(lo, 0);
  const x0 = Math.max(start, Math.min(...fc.map((f) => f[0]), ...demand.map((d) => d[0]), now));
  const plotH = H - PAD_T - 18;
  const root = sv("svg", {viewBox: "0 0 " + W + " " + (H + 4), class: "chart forecast",
    "data-workload": w.key, role: "img"});
  root.append(sv("title", {}, "forecast vs capacity: " + w.key));
  const s = scales(x0, x1, lo, hi, PAD_T, plotH);
  // Forecasts are drawn where they land: at t + horizon.
  const shifted = fc.map((f) => [f[0] + f[1], f[2], f[3], f[4]]);
  root.append(sv("path", {d: bandPath(shifted, 0, 2, 3, s), class: "band"}));
  root.append(sv("path", {d: linePath(shifted, 0, 1, s), class: "predicted"}));
  let cap = "", prev = null;
  for (const f of fc) {
    if (f[5] === null) { prev = null; continue; }
    const x = s.x(f[0]).toFixed(1), y = s.y(f[5]).toFixed(1);
    cap += prev === null ? "M" + x + "," + y : "H" + x + "V" + y;
    prev = y;
  }
  root.append(sv("path", {d: cap, class: "capacity"}));
  root.append(sv("path", {d: linePath(demand, 0, 1, s), class: "value", "data-points": demand.length}));
  root.append(sv("line", {x1: s.x(now), x2: s.x(now), y1: PAD_T, y2: PAD_T + plotH, class: "now"}));
  axes(root, s, x0, x1, PAD_T, plotH);
  root.append(sv("text", {x: PAD_L + 4, y: PAD_T - 3, class: "label"},
    (w.labels.workload || w.key) + " · " + w.metric));
  return root;
}

// -- panels -----------------------------------------------------------------------------

function renderStatus(st) {
  clockName = st.clock.name;
  const ready = document.getElementById("ready");
  ready.dataset.ready = String(st.ready);
  ready.className = "badge " + (st.ready ? "ok" : "bad");
  ready.textContent = st.ready ? "ready" : "not ready";
  const pace = st.clock.stepped ? "stepped" : (st.clock.speed === 1 ? "real time" : st.clock.speed + "x");
  document.getElementById("clock").textContent = "now " + stamp(st.now) + ", " + pace;
  document.getElementById("backends").textContent =
    "source " + st.source + " · actuator " + st.actuator + " · aiops " + st.version;
  const checks = document.getElementById("checks");
  checks.replaceChildren(...Object.entries(st.checks).map(([k, v]) =>
    el("li", {class: v === "ok" ? "ok" : "bad", "data-check": k}, el("b", {}, k), " " + v)));
  const dl = document.getElementById("models");
  const rows = [];
  for (const m of st.models) {
    rows.push(el("dt", {"data-model": m.name}, m.name + " "), el("dd", {}, m.summary));
  }
  dl.replaceChildren(...rows);
}

function incidentCard(inc, detail, series) {
  const card = el("article", {class: "incident status-" + inc.status, "data-incident-id": inc.id,
    "data-status": inc.status, "data-runbook": inc.runbook});
  const duration = (inc.closed_at || null) !== null ? "lasted " + span(inc.closed_at - inc.opened_at) : "open";
  card.append(el("h3", {},
    el("span", {class: "badge status " + inc.status}, inc.status),
    " ", el("span", {class: "runbook"}, inc.runbook),
    " on ", el("span", {class: "target"}, inc.target)));
  card.append(el("p", {class: "muted when"}, "opened " + stamp(inc.opened_at) + " · " + duration +
    " · mode " + inc.mode + (inc.close_code ? " · closed: " + inc.close_code : "")));
  if (series) {
    if (series.series.length === 0) {
      card.append(el("p", {class: "muted"}, "No recorded series for this incident."));
    }
    for (const s of series.series) {
      if (s.points.length === 0) {
        card.append(el("p", {class: "muted"}, s.key + ": older than the history the daemon keeps for this page"));
      } else {
        card.append(seriesChart(series, s));
      }
    }
    if (series.marks.length) card.append(markLegend(series.marks));
  }
  if (detail) {
    const events = detail.timeline.slice(-EVENTS);
    const ol = el("ol", {class: "timeline"});
    for (const e of events) {
      ol.append(el("li", {"data-kind": e.kind, "data-code": e.code},
        el("time", {}, hhmmss(e.t)), " ", el("span", {class: "kind"}, e.kind), " ",
        el("span", {class: "code"}, e.code), " ", el("span", {class: "reason"}, e.reason)));
    }
    card.append(ol);
  }
  return card;
}

function compactRow(inc) {
  return el("li", {"data-incident-id": inc.id, "data-status": inc.status},
    el("span", {class: "badge status " + inc.status}, inc.status), " ",
    hhmm(inc.opened_at) + " " + inc.runbook + " on " + inc.target);
}

async function renderIncidents() {
  const list = (await getJSON("/v1/incidents?limit=" + LIST)).incidents;
  const top = list.slice(0, DETAILED);
  // One incident that cannot be read (pruned meanwhile) must not blank the others.
  const orNull = (p) => p.catch(() => null);
  const details = await Promise.all(top.map((i) => Promise.all([
    orNull(getJSON("/v1/incidents/" + encodeURIComponent(i.id))),
    orNull(getJSON("/v1/incidents/" + encodeURIComponent(i.id) + "/series")),
  ])));
  const box = document.createDocumentFragment();
  top.forEach((inc, n) => box.append(incidentCard(inc, details[n][0], details[n][1])));
  if (list.length > DETAILED) {
    box.append(el("h3", {}, "Earlier"), el("ul", {class: "earlier"}, ...list.slice(DETAILED).map(compactRow)));
  }
  document.getElementById("incidents").replaceChildren(box);
  document.getElementById("no-incidents").hidden = list.length > 0;
  document.getElementById("incident-count").textContent = list.length ? "(" + list.length + " latest)" : "";
}

async function renderForecasts() {
  const data = await getJSON("/v1/forecasts");
  const box = document.createDocumentFragment();
  for (const w of data.workloads) {
    const last = w.forecasts[w.forecasts.length - 1];
    const fig = el("figure", {class: "forecast", "data-workload": w.key});
    fig.append(forecastChart(w, data.start, data.now));
    if (last) {
      fig.append(el("figcaption", {},
        el("span", {class: "key value"}, "demand seen"), " ",
        el("span", {class: "key predicted"}, "forecast at t + " + span(last[1]) + " (band: interval)"), " ",
        el("span", {class: "key capacity"}, "capacity of ready pods"), " · latest: " +
        fmt(last[2]) + " predicted (" + fmt(last[3]) + "–" + fmt(last[4]) + "), capacity " +
        fmt(last[5]) + "; replicas " + last[7] + ", desired " + last[6]));
    }
    box.append(fig);
  }
  document.getElementById("forecasts").replaceChildren(box);
  document.getElementById("no-forecasts").hidden = data.workloads.length > 0;
}

async function refresh() {
  const error = document.getElementById("error");
  try {
    renderStatus(await getJSON("/v1/status"));
    await Promise.all([renderIncidents(), renderForecasts()]);
    error.hidden = true;
    document.body.dataset.refreshed = String(Date.now());
  } catch (e) {
    error.textContent = "cannot refresh: " + e.message;
    error.hidden = false;
  } finally {
    setTimeout(refresh, POLL_MS);
  }
}

refresh();
