// The smartbms dashboard: a small single-page app over the REST API and its SSE stream.
import { cellBars, lineChart, socGauge } from "./charts.js";

const state = { me: null, live: null, latest: {}, packs: [], view: null };
const main = document.getElementById("main");

// -- DOM and formatting helpers ------------------------------------------------------------
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "className") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
const num = (v, d = 2, unit = "") => (Number.isFinite(v) ? `${v.toFixed(d)}${unit}` : "–");
const when = (t) => (t ? new Date(t * 1000).toLocaleString() : "never");
function ago(t) {
  if (!t) return "never";
  const s = Math.max(0, Date.now() / 1000 - t);
  if (s < 90) return `${s.toFixed(0)} s ago`;
  if (s < 5400) return `${(s / 60).toFixed(0)} min ago`;
  if (s < 172800) return `${(s / 3600).toFixed(0)} h ago`;
  return `${(s / 86400).toFixed(0)} days ago`;
}
const canOperate = () => state.me && ["operator", "admin"].includes(state.me.role);
const isAdmin = () => state.me && state.me.role === "admin";
function toast(text, bad = false) {
  const t = h("div", { className: "toast" + (bad ? " error" : ""), role: "status" }, text);
  document.body.append(t);
  setTimeout(() => t.remove(), 4000);
}
function confirmAction(text) {
  const dlg = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
    dlg.returnValue = "";
    dlg.showModal();
  });
}

// -- API -------------------------------------------------------------------------------
function detailText(data) {
  if (!data) return "";
  if (typeof data.detail === "string") return data.detail;
  if (Array.isArray(data.detail)) return data.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
  return "";
}
async function api(path, { method = "GET", body } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.me && state.me.csrf_token) headers["X-CSRF-Token"] = state.me.csrf_token;
  const res = await fetch(path, { method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  if (res.status !== 204) { try { data = await res.json(); } catch { data = null; } }
  if (res.status === 401 && !path.startsWith("/api/auth/")) { state.me = null; location.hash = "#/login"; }
  if (!res.ok) {
    const err = new Error(detailText(data) || `${res.status} ${res.statusText}`);
    err.status = res.status; err.data = data;
    throw err;
  }
  return data;
}

// -- live updates ----------------------------------------------------------------------------
function startLive() {
  if (state.live) return;
  const es = new EventSource("/api/live");
  es.addEventListener("sample", (ev) => {
    const msg = JSON.parse(ev.data);
    state.latest[msg.pack_id] = msg.sample;
    if (state.view && state.view.onSample) state.view.onSample(msg.pack_id, msg.sample);
  });
  for (const kind of ["alerts", "events", "settings"]) {
    es.addEventListener(kind, (ev) => {
      const msg = JSON.parse(ev.data);
      if (state.view && state.view.onChange) state.view.onChange(kind, msg.pack_id);
    });
  }
  state.live = es;
}
function stopLive() { if (state.live) { state.live.close(); state.live = null; } }

// -- header, routing ----------------------------------------------------------------------------
function showHeader() {
  const logged = !!state.me;
  document.getElementById("nav").hidden = !logged;
  document.getElementById("who").hidden = !logged;
  document.getElementById("nav-admin").hidden = !isAdmin();
  if (logged) {
    document.getElementById("who-name").textContent = state.me.username;
    document.getElementById("who-role").textContent = state.me.role;
  }
}
document.getElementById("logout").addEventListener("click", async () => {
  try { await api("/api/auth/logout", { method: "POST" }); } catch { /* already logged out */ }
  state.me = null; stopLive(); location.hash = "#/login";
});

async function route() {
  if (state.view && state.view.leave) state.view.leave();
  state.view = null;
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (!state.me && parts[0] !== "login") {
    try { state.me = await api("/api/auth/me"); } catch { location.hash = "#/login"; return; }
  }
  showHeader();
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.nav === (parts[0] || "overview"));
  if (state.me && state.me.must_change_password && parts[0] !== "login") return renderPasswordChange();
  if (state.me) startLive();
  main.replaceChildren();
  const page = { "": renderOverview, login: renderLogin, pack: renderPack, alerts: renderAlerts, audit: renderAudit,
    admin: renderAdmin }[parts[0]] || renderOverview;
  try { await page(...parts.slice(1)); } catch (err) { main.replaceChildren(h("p", { className: "error" }, err.message)); }
}
window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);

// -- login and password change ------------------------------------------------------------------------
function renderLogin() {
  stopLive();
  state.me = null; showHeader();
  const error = h("p", { className: "error", id: "login-error", role: "alert" });
  const form = h("form", { className: "card stack login", id: "login-form" },
    h("h1", {}, "Log in"),
    h("label", {}, "Username", h("input", { name: "username", autocomplete: "username", required: true })),
    h("label", {}, "Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    error, h("button", { type: "submit" }, "Log in"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    try {
      state.me = await api("/api/auth/login", { method: "POST", body: { username: fd.get("username"), password: fd.get("password") } });
      location.hash = "#/";
    } catch (err) { error.textContent = err.message; }
  });
  main.replaceChildren(form);
}

function renderPasswordChange() {
  main.replaceChildren();
  const error = h("p", { className: "error", role: "alert" });
  const form = h("form", { className: "card stack login" },
    h("h1", {}, "Choose your password"),
    h("p", { className: "muted" }, "You logged in with a one-time password. Choose your own (10 characters or more)."),
    h("label", {}, "One-time password", h("input", { name: "current", type: "password", required: true })),
    h("label", {}, "New password", h("input", { name: "new", type: "password", minlength: 10, required: true })),
    error, h("button", { type: "submit" }, "Save password"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    try {
      await api("/api/auth/password", { method: "POST", body: { current_password: fd.get("current"), new_password: fd.get("new") } });
      state.me = await api("/api/auth/me");
      location.hash = "#/"; route();
    } catch (err) { error.textContent = err.message; }
  });
  main.append(form);
}

// -- overview ----------------------------------------------------------------------------------
function packCard(p) {
  const s = state.latest[p.pack_id] || p.latest || {};
  const alarm = p.alarms.length > 0 || p.open_alerts > 0;
  const cls = "card pack-card" + (alarm ? " alarm" : "") + (p.stale ? " stale" : "");
  const flags = [];
  if (alarm) flags.push(h("span", { className: "badge bad" }, `${p.alarms.length || p.open_alerts} alarm${(p.alarms.length || p.open_alerts) > 1 ? "s" : ""}`));
  if (p.stale) flags.push(h("span", { className: "badge stale" }, "no data"));
  if (!alarm && !p.stale) flags.push(h("span", { className: "badge ok" }, s.bms_state || "OK"));
  return h("a", { className: cls, href: `#/pack/${encodeURIComponent(p.pack_id)}`, "data-pack": p.pack_id },
    h("h2", {}, h("span", {}, p.name), h("span", {}, flags)),
    h("div", { className: "socbar" }, socFill(s.soc_pct)),
    h("dl", { className: "kv" },
      h("dt", {}, "SOC"), h("dd", {}, num(s.soc_pct, 1, " %")),
      h("dt", {}, "Power"), h("dd", {}, num(s.power_w, 0, " W")),
      h("dt", {}, "Voltage"), h("dd", {}, num(s.voltage_v, 2, " V")),
      h("dt", {}, "State"), h("dd", {}, s.bms_state || "–"),
      h("dt", {}, "Last seen"), h("dd", { title: when(p.last_seen) }, ago(s.timestamp || p.last_seen))),
    p.alarms.length ? h("p", { className: "error" }, p.alarms.map((a) => `${a.code} ${a.title}`).join(", ")) : null);
}
function socFill(soc) {
  const d = h("div");
  d.style.width = `${Number.isFinite(soc) ? Math.max(0, Math.min(100, soc)) : 0}%`;
  return d;
}
async function renderOverview() {
  const grid = h("div", { className: "grid", id: "packs" });
  main.append(h("h1", {}, "Packs"), grid);
  const load = async () => {
    state.packs = await api("/api/packs");
    grid.replaceChildren(...(state.packs.length ? state.packs.map(packCard)
      : [h("p", { className: "muted" }, "No pack has reported yet. Create a device token under Admin and point a smartbms instance at this server.")]));
  };
  await load();
  let pending = false;
  const timer = setInterval(load, 10000);
  state.view = {
    onSample: (packId) => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        const p = state.packs.find((x) => x.pack_id === packId);
        const old = grid.querySelector(`[data-pack="${CSS.escape(packId)}"]`);
        if (p && old) { p.stale = false; old.replaceWith(packCard(p)); } else load();
      });
    },
    onChange: (kind) => { if (kind === "alerts") load(); },
    leave: () => clearInterval(timer),
  };
}

// -- pack page ----------------------------------------------------------------------------------
const TABS = ["live", "history", "events", "settings", "audit"];

async function renderPack(packId, tab = "live") {
  if (!TABS.includes(tab)) tab = "live";
  let detail = await api(`/api/packs/${encodeURIComponent(packId)}`);
  const title = h("h1", {}, detail.name);
  const body = h("div", { id: "tab-body" });
  const tabs = h("div", { className: "tabs", role: "tablist" }, TABS.map((t) =>
    h("button", { type: "button", role: "tab", "aria-selected": t === tab ? "true" : "false", "data-tab": t,
      onclick: () => { location.hash = `#/pack/${encodeURIComponent(packId)}/${t}`; } }, t[0].toUpperCase() + t.slice(1))));
  main.append(title, tabs, body);
  const badges = () => {
    const s = state.latest[packId] || detail.latest || {};
    title.replaceChildren(...[detail.name, " ",
      h("span", { className: "badge " + (detail.alarms.length ? "bad" : "ok"), id: "bms-state" }, s.bms_state || "–"),
      detail.stale ? h("span", { className: "badge stale" }, "no data") : null,
      h("span", { className: "muted", id: "last-seen" }, `updated ${ago(s.timestamp || detail.last_seen)}`)].filter(Boolean));
  };
  badges();
  const view = { onSample: null, onChange: null, leave: null };
  state.view = view;
  const page = { live: packLive, history: packHistory, events: packEvents, settings: packSettings, audit: packAudit }[tab];
  const inner = await page(packId, detail, body);
  view.onSample = (pid, sample) => {
    if (pid !== packId) return;
    detail.stale = false;
    badges();
    if (inner && inner.onSample) inner.onSample(sample);
  };
  view.onChange = async (kind, pid) => {
    if (pid !== packId) return;
    if (kind === "alerts") { detail = await api(`/api/packs/${encodeURIComponent(packId)}`); badges(); }
    if (inner && inner.onChange) inner.onChange(kind, detail);
  };
  view.leave = () => inner && inner.leave && inner.leave();
}

function metric(label, value, id) {
  return h("div", { className: "metric" }, h("div", { className: "label" }, label), h("div", { className: "value", id }, value));
}
function onOff(label, on, id) {
  return h("span", { className: "badge " + (on === true ? "ok" : on === false ? "bad" : ""), id, "data-on": String(on) },
    `${label}: ${on === true ? "ON" : on === false ? "OFF" : "?"}`);
}

async function packLive(packId, detail, body) {
  const summary = h("div", { className: "cols" });
  const cells = h("div", { className: "card", id: "cells-card" });
  const alarms = h("div", { className: "card", id: "alarms-card" });
  const controls = h("div", { className: "card", id: "controls-card" });
  body.append(summary, cells, alarms, controls);
  let last = null;
  const draw = (s) => {
    s = s || {};
    const temps = s.temperatures_c || [];
    const t = temps.filter(Number.isFinite);
    summary.replaceChildren(
      h("div", { className: "card" }, socGauge(s.soc_pct),
        h("div", { className: "row" }, onOff("Charge", s.charge_enabled, "charge-state"), onOff("Discharge", s.discharge_enabled, "discharge-state")),
        "load_disconnect_closed" in s || "charge_disconnect_closed" in s ? h("div", { className: "row outputs" },
          onOff("Load output", s.load_disconnect_closed, "load-output"), onOff("Charge output", s.charge_disconnect_closed, "charge-output"),
          s.prealarm_output ? h("span", { className: "badge warn", id: "prealarm" }, "Pre-alarm") : null) : null,
        h("p", { className: "muted" }, `Remote mode: `, h("span", { id: "remote-mode" }, s.remote_mode || detail.remote_mode || "–"))),
      h("div", { className: "card" }, h("div", { className: "metrics" },
        metric("Voltage", num(s.voltage_v, 2, " V"), "m-voltage"),
        metric("Current", num(s.current_a, 1, " A"), "m-current"),
        metric("Power", num(s.power_w, 0, " W"), "m-power"),
        metric("Remaining", num(s.remaining_ah, 1, " Ah"), "m-remaining"),
        metric("SOH", num(s.soh_pct, 0, " %"), "m-soh"),
        metric("Temp min/max", t.length ? `${Math.min(...t).toFixed(1)} / ${Math.max(...t).toFixed(1)} °C` : "–", "m-temps"),
        metric("Power stage", num(s.mosfet_temperature_c, 1, " °C"), "m-fet"),
        metric("Cycles", Number.isFinite(s.cycles) ? String(s.cycles) : "–", "m-cycles"))));
    const cv = s.cell_voltages_v || [];
    const f = cv.filter(Number.isFinite);
    if (f.length) {
      const mn = Math.min(...f), mx = Math.max(...f);
      cells.replaceChildren(h("h2", {}, "Cell voltages"),
        h("div", { className: "legend" },
          h("span", {}, h("span", { className: "swatch min" }), ` min ${mn.toFixed(3)} V (cell ${cv.indexOf(mn) + 1})`),
          h("span", {}, h("span", { className: "swatch max" }), ` max ${mx.toFixed(3)} V (cell ${cv.indexOf(mx) + 1})`),
          h("span", { id: "cell-delta" }, `Δ ${((mx - mn) * 1000).toFixed(0)} mV`),
          h("span", {}, h("span", { className: "swatch bal" }), ` balancing: ${(s.balancing_cells || []).join(", ") || "none"}`)),
        cellBars(cv, s.balancing_cells || [], cells.clientWidth - 32));
    } else cells.replaceChildren(h("h2", {}, "Cell voltages"), h("p", { className: "muted" }, "No cell voltages reported."));
    const codes = s.alarms || [];
    const known = new Map(detail.alarms.map((a) => [a.code, a]));
    alarms.replaceChildren(h("h2", {}, "Active alarms"), codes.length || detail.open_episodes.length
      ? h("ul", { className: "alarm-list", id: "alarm-list" },
        codes.map((c) => { const a = known.get(c) || catalog.get(c) || { code: c, title: c, cause: "", advice: "", family: "alarm" };
          return h("li", { className: a.family }, h("b", {}, `${a.code} ${a.title}`), h("div", {}, a.cause), h("div", { className: "muted" }, `What to do: ${a.advice}`)); }),
        detail.open_episodes.filter((e) => !e.key.startsWith("alarm:")).map((e) =>
          h("li", { className: "warning" }, h("b", {}, e.title), h("div", {}, e.detail), h("div", { className: "muted" }, `since ${when(e.started_at)}`))))
      : h("p", { className: "muted" }, "None."));
  };
  const catalog = new Map((await api("/api/alarms/catalog")).map((a) => [a.code, a]));
  last = state.latest[packId] || detail.latest;
  draw(last);
  drawControls(packId, detail, controls);
  let pending = false;
  return {
    onSample: (s) => {
      last = s;
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; draw(last); });
    },
    onChange: (kind, d) => { detail = d; draw(last); },
  };
}

function drawControls(packId, detail, box) {
  box.replaceChildren(h("h2", {}, "Controls"));
  if (!detail.controllable) {
    box.append(h("p", { className: "muted" }, "This pack is monitored only: its uplink reports no controller to send commands to."));
    return;
  }
  if (!canOperate()) {
    box.append(h("p", { className: "muted", id: "controls-readonly" }, `Your role (${state.me.role}) can watch but not switch this pack.`));
    return;
  }
  const base = `/api/packs/${encodeURIComponent(packId)}/commands`;
  const send = async (question, path, body) => {
    if (!(await confirmAction(question))) return;
    try {
      const r = await api(`${base}/${path}`, { method: "POST", body });
      toast(r.queued ? `${r.command}: queued for the pack's next report` : `${r.command}: done${r.remote_mode ? ` (remote mode ${r.remote_mode})` : ""}`);
    } catch (err) { toast(err.message, true); }
  };
  const btn = (label, id, question, path, body, cls) =>
    h("button", { type: "button", id, className: cls, onclick: () => send(question, path, body) }, label);
  const mode = h("select", { id: "remote-mode-select" },
    ["on", "off-charge-only", "off-charge-and-system", "off-all"].map((m) => h("option", { value: m }, m)));
  const soc = h("input", { id: "soc-input", type: "number", min: 0, max: 100, step: "any", placeholder: "SOC %" });
  box.append(
    h("div", { className: "row" },
      btn("Charge on", "charge-on", "Allow charging?", "charge", { on: true }),
      btn("Charge off", "charge-off", "Stop charging?", "charge", { on: false }, "danger"),
      btn("Discharge on", "discharge-on", "Allow discharging (loads on)?", "discharge", { on: true }),
      btn("Discharge off", "discharge-off", "Stop discharging? The loads are cut; charging stays allowed.", "discharge", { on: false }, "danger")),
    h("p"),
    h("div", { className: "row" }, h("label", {}, "Remote mode "), mode,
      h("button", { type: "button", className: "secondary", id: "remote-mode-apply",
        onclick: () => send(`Set the remote mode to ${mode.value}?`, "remote-mode", { mode: mode.value }) }, "Apply")),
    h("p"),
    h("div", { className: "row" },
      btn("Reset fault", "reset-fault", "Reset the fault? It is honoured only once its cause is gone.", "reset-fault", undefined, "secondary"),
      btn("Wake", "wake", "Wake the BMS?", "wake", undefined, "secondary"),
      btn("Sleep", "sleep", "Put the BMS to sleep? Both paths open.", "sleep", undefined, "secondary")),
    h("p"),
    h("div", { className: "row" }, soc, h("button", { type: "button", className: "secondary", id: "set-soc",
      onclick: () => send(`Set the state of charge to ${soc.value} %?`, "set-soc", { soc_pct: Number(soc.value) }) }, "Set SOC")));
}

const RANGES = [["15 min", 900], ["1 h", 3600], ["6 h", 21600], ["24 h", 86400], ["7 days", 604800], ["30 days", 2592000]];
async function packHistory(packId, detail, body) {
  let span = 3600, zoom = null;
  const charts = h("div", { className: "chart-grid" });
  const csv = h("a", { className: "button secondary", id: "export-csv", download: "" }, "Export CSV");
  const res = h("span", { className: "muted", id: "resolution" });
  body.append(h("div", { className: "row card" },
    RANGES.map(([label, s]) => h("button", { type: "button", className: "secondary", "data-range": s,
      onclick: () => { span = s; zoom = null; load(); } }, label)),
    csv, res, h("span", { className: "muted" }, "Drag across a chart to zoom, double-click to zoom out.")), charts);
  const val = (p, c) => { for (const k of [c, `${c}_avg`, `${c}_max`, `${c}_min`]) if (Number.isFinite(p[k])) return p[k]; return NaN; };
  const col = (pts, c, f = (v) => v) => pts.map((p) => [p.timestamp, f(val(p, c))]);
  async function load() {
    const end = zoom ? zoom[1] : Date.now() / 1000, start = zoom ? zoom[0] : end - span;
    const q = `start=${start}&end=${end}&resolution=auto`;
    const data = await api(`/api/packs/${encodeURIComponent(packId)}/history?${q}`);
    csv.href = `/api/packs/${encodeURIComponent(packId)}/history.csv?${q}`;
    res.textContent = `${data.points.length} points, ${data.resolution === "raw" ? "every sample" : `${data.resolution} averages`}`;
    const pts = data.points, range = [start, end];
    const onZoom = (a, b) => { zoom = a === null ? null : [a, b]; load(); };
    const spec = [
      ["Pack voltage", [{ color: "#1769aa", points: col(pts, "voltage_v") }], " V"],
      ["Current (+ charging)", [{ color: "#c77700", points: col(pts, "current_a") }], " A"],
      ["State of charge", [{ color: "#1b8a3a", points: col(pts, "soc_pct") }], " %"],
      ["Cell spread (max − min)", [{ color: "#8e44ad", points: pts.map((p) => [p.timestamp,
        1000 * (Number.isFinite(p.cell_spread_v) ? p.cell_spread_v : val(p, "cell_spread_v"))])}], " mV"],
      ["Lowest / highest cell", [{ color: "#2e86de", points: col(pts, "cell_min_v") }, { color: "#c62828", points: col(pts, "cell_max_v") }], " V"],
      ["Temperatures min / max", [{ color: "#2e86de", points: col(pts, "temp_min_c") }, { color: "#c62828", points: col(pts, "temp_max_c") }], " °C"],
    ];
    const width = Math.min(charts.clientWidth, charts.clientWidth >= 980 ? (charts.clientWidth - 16) / 2 : 9999) - 34;
    charts.replaceChildren(...spec.map(([name, series, unit]) =>
      h("div", { className: "card" }, h("h2", {}, name), lineChart(series, { unit, range, onZoom, width }))));
  }
  await load();
  const timer = setInterval(() => { if (!zoom) load(); }, 15000);
  return { leave: () => clearInterval(timer) };
}

async function packEvents(packId, detail, body) {
  const box = h("div", { className: "card table-wrap" });
  const eps = h("div", { className: "card table-wrap" });
  body.append(box, eps);
  const load = async () => {
    const events = await api(`/api/packs/${encodeURIComponent(packId)}/events?limit=300`);
    box.replaceChildren(h("h2", {}, "Event log"), events.length ? h("table", { id: "events-table" },
      h("tr", {}, h("th", {}, "Time"), h("th", {}, "Kind"), h("th", {}, "Code"), h("th", {}, "Message")),
      events.map((e) => h("tr", {}, h("td", {}, when(e.timestamp)), h("td", {}, e.kind), h("td", {}, e.code), h("td", {}, e.message))))
      : h("p", { className: "muted" }, "No events yet."));
    const list = await api(`/api/alerts/episodes?pack_id=${encodeURIComponent(packId)}&limit=100`);
    eps.replaceChildren(h("h2", {}, "Alerts"), episodeTable(list));
  };
  await load();
  return { onChange: (kind) => { if (kind === "events" || kind === "alerts") load(); } };
}

function episodeTable(list) {
  if (!list.length) return h("p", { className: "muted" }, "No alerts.");
  return h("table", {}, h("tr", {}, h("th", {}, "Pack"), h("th", {}, "Alert"), h("th", {}, "Started"), h("th", {}, "Cleared"), h("th", {}, "Detail")),
    list.map((e) => h("tr", {}, h("td", {}, e.pack_id), h("td", {}, e.title), h("td", {}, when(e.started_at)),
      h("td", {}, e.cleared_at ? when(e.cleared_at) : h("span", { className: "badge bad" }, "open")), h("td", {}, e.detail))));
}

function resolveRef(schema, node) {
  if (node && node.$ref) return schema.$defs[node.$ref.split("/").pop()];
  if (node && node.allOf && node.allOf[0] && node.allOf[0].$ref) return schema.$defs[node.allOf[0].$ref.split("/").pop()];
  return node;
}
function rangeHint(p) {
  const lo = p.minimum ?? p.exclusiveMinimum, hi = p.maximum ?? p.exclusiveMaximum;
  if (lo !== undefined && hi !== undefined) return `${p.exclusiveMinimum !== undefined ? ">" : ""}${lo} … ${hi}`;
  return "";
}

async function packSettings(packId, detail, body) {
  if (!detail.controllable) {
    body.append(h("p", { className: "card muted" }, "This pack is monitored only: its uplink reports no settings."));
    return null;
  }
  const data = await api(`/api/packs/${encodeURIComponent(packId)}/settings`);
  const schema = data.json_schema, editable = isAdmin();
  const message = h("div", { id: "settings-message", role: "alert" });
  const form = h("form", { className: "settings card", id: "settings-form", novalidate: true });
  const inputs = new Map();
  for (const [section, values] of Object.entries(data.settings)) {
    const secSchema = resolveRef(schema, schema.properties[section]) || { properties: {} };
    const fields = h("div", { className: "fields" });
    for (const [name, value] of Object.entries(values)) {
      const key = `${section}.${name}`;
      const prop = resolveRef(schema, secSchema.properties[name]) || {};
      let input;
      if (typeof value === "boolean") input = h("input", { type: "checkbox", checked: value });
      else if (prop.enum) input = h("select", {}, prop.enum.map((o) => h("option", { value: o, selected: o === value }, o)));
      else if (typeof value === "number") input = h("input", { type: "number", step: "any", value });
      else input = h("input", { value: value ?? "" });
      input.name = key; input.id = `setting-${key}`; input.disabled = !editable;
      const err = h("div", { className: "field-error", id: `error-${key}` });
      const wrap = h("div", { "data-key": key }, h("label", { for: input.id }, name.replaceAll("_", " ")), input,
        h("div", { className: "hint" }, rangeHint(prop)), err);
      input.addEventListener("input", () => wrap.classList.toggle("changed", current(input) !== value));
      inputs.set(key, { input, value, wrap, err });
      fields.append(wrap);
    }
    form.append(h("fieldset", {}, h("legend", {}, section.replaceAll("_", " ")), fields));
  }
  function current(input) {
    if (input.type === "checkbox") return input.checked;
    if (input.type === "number") return input.value === "" ? null : Number(input.value);
    return input.value;
  }
  if (editable) form.append(h("div", { className: "row" }, h("button", { type: "submit", id: "settings-save" }, "Save changes"),
    h("button", { type: "reset", className: "secondary", onclick: () => setTimeout(() => inputs.forEach((f) => f.wrap.classList.remove("changed", "invalid")), 0) }, "Undo")));
  else form.prepend(h("p", { className: "muted", id: "settings-readonly" }, `Only admins can change settings (you are ${state.me.role}).`));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const changes = {};
    for (const [key, f] of inputs) { f.err.textContent = ""; f.wrap.classList.remove("invalid");
      const v = current(f.input); if (v !== f.value) changes[key] = v; }
    if (!Object.keys(changes).length) { message.replaceChildren(h("p", { className: "muted" }, "Nothing changed.")); return; }
    if (!(await confirmAction(`Apply ${Object.keys(changes).length} change(s) to the running BMS?\n${Object.entries(changes).map(([k, v]) => `${k} = ${v}`).join("\n")}`))) return;
    try {
      const r = await api(`/api/packs/${encodeURIComponent(packId)}/settings`, { method: "PATCH", body: { changes } });
      for (const [section, values] of Object.entries(r.settings)) for (const [name, v] of Object.entries(values)) {
        const f = inputs.get(`${section}.${name}`); if (!f) continue;
        f.value = v; f.wrap.classList.remove("changed");
        if (f.input.type === "checkbox") f.input.checked = v; else f.input.value = v;
      }
      message.replaceChildren(h("p", { className: "badge ok" }, r.pending ? "Queued: the pack applies it when it next reports." : "Saved."));
    } catch (err) {
      message.replaceChildren(h("p", { className: "error" }, err.message));
      for (const p of (err.data && err.data.problems) || []) {
        const f = inputs.get(p.field);
        if (f) { f.err.textContent = p.message; f.wrap.classList.add("invalid"); }
      }
    }
  });
  body.append(message, form);
  return null;
}

async function packAudit(packId, detail, body) {
  const rows = await api(`/api/audit?target=${encodeURIComponent(`pack:${packId}`)}&limit=300`);
  body.append(h("div", { className: "card table-wrap" }, h("h2", {}, "Changes and commands"), auditTable(rows)));
  return null;
}

const show = (v) => (v === null || v === undefined ? "–" : typeof v === "object" ? JSON.stringify(v) : String(v));
function auditTable(rows) {
  if (!rows.length) return h("p", { className: "muted" }, "Nothing yet.");
  return h("table", { id: "audit-table" }, h("tr", {}, h("th", {}, "When"), h("th", {}, "Who"), h("th", {}, "What"), h("th", {}, "Target"), h("th", {}, "Old → new")),
    rows.map((r) => h("tr", {}, h("td", {}, when(r.timestamp)), h("td", {}, r.actor), h("td", {}, r.action), h("td", {}, r.target),
      h("td", {}, `${show(r.old_value)} → ${show(r.new_value)}`))));
}

async function renderAudit() {
  const rows = await api("/api/audit?limit=500");
  main.append(h("h1", {}, "Audit trail"), h("div", { className: "card table-wrap" }, auditTable(rows)));
}

// -- alerts -------------------------------------------------------------------------------------------
async function renderAlerts() {
  const eps = await api("/api/alerts/episodes?limit=200");
  const rules = await api("/api/alerts/rules");
  main.append(h("h1", {}, "Alerts"), h("div", { className: "card table-wrap" }, h("h2", {}, "Episodes"), episodeTable(eps)));
  const ruleBox = h("div", { className: "card table-wrap" }, h("h2", {}, "Rules"),
    rules.length ? h("table", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Pack"), h("th", {}, "Condition"), h("th", {}, "")),
      rules.map((r) => h("tr", {}, h("td", {}, r.name), h("td", {}, r.pack_id || "all"),
        h("td", {}, `${r.field} ${r.op} ${r.trip} for ${r.duration_s} s, clears past ${r.clear}`),
        h("td", {}, isAdmin() ? h("button", { type: "button", className: "link", onclick: async () => {
          if (await confirmAction(`Delete rule ${r.name}?`)) { await api(`/api/alerts/rules/${r.id}`, { method: "DELETE" }); route(); } } }, "delete") : ""))))
      : h("p", { className: "muted" }, "No rules. Core alarms and the no-data check alert without rules."));
  main.append(ruleBox);
  if (!isAdmin()) return;
  const fields = ["voltage_v", "current_a", "power_w", "soc_pct", "soh_pct", "remaining_ah", "mosfet_temperature_c",
    "cell_min_v", "cell_max_v", "cell_spread_v", "temp_min_c", "temp_max_c"];
  const err = h("p", { className: "error" });
  const form = h("form", { className: "card" }, h("h2", {}, "New rule"),
    h("div", { className: "row" },
      h("input", { name: "name", placeholder: "name", required: true }),
      h("input", { name: "pack_id", placeholder: "pack (empty = all)" }),
      h("select", { name: "field" }, fields.map((f) => h("option", { value: f }, f))),
      h("select", { name: "op" }, h("option", { value: "above" }, "above"), h("option", { value: "below" }, "below")),
      h("label", {}, "trips at ", h("input", { name: "trip", type: "number", step: "any", required: true })),
      h("label", {}, "clears at ", h("input", { name: "clear", type: "number", step: "any", required: true })),
      h("label", {}, "after (s) ", h("input", { name: "duration_s", type: "number", step: "any", min: 0, value: 0 })),
      h("button", { type: "submit" }, "Add")), err);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    try {
      await api("/api/alerts/rules", { method: "POST", body: { name: fd.get("name"), pack_id: fd.get("pack_id") || null,
        field: fd.get("field"), op: fd.get("op"), trip: Number(fd.get("trip")), clear: Number(fd.get("clear")),
        duration_s: Number(fd.get("duration_s") || 0) } });
      route();
    } catch (e) { err.textContent = e.message; }
  });
  const channels = await api("/api/alerts/channels");
  const cerr = h("p", { className: "error" });
  const cform = h("form", { className: "card" }, h("h2", {}, "Notification channels"),
    channels.length ? h("ul", {}, channels.map((c) => h("li", {}, `${c.kind}: ${c.target} `,
      h("button", { type: "button", className: "link", onclick: async () => {
        if (await confirmAction(`Remove ${c.target}?`)) { await api(`/api/alerts/channels/${c.id}`, { method: "DELETE" }); route(); } } }, "remove"))))
      : h("p", { className: "muted" }, "No channels: alerts are only shown here."),
    h("div", { className: "row" }, h("select", { name: "kind" }, h("option", { value: "webhook" }, "webhook"), h("option", { value: "email" }, "e-mail")),
      h("input", { name: "target", placeholder: "https://… or name@example.com", required: true }), h("button", { type: "submit" }, "Add")), cerr);
  cform.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fd = new FormData(cform);
    try { await api("/api/alerts/channels", { method: "POST", body: { kind: fd.get("kind"), target: fd.get("target") } }); route(); }
    catch (e) { cerr.textContent = e.message; }
  });
  main.append(form, cform);
}

// -- admin: users and tokens --------------------------------------------------------------------------
async function renderAdmin() {
  if (!isAdmin()) { main.append(h("p", { className: "error" }, "Only admins manage users and tokens.")); return; }
  const users = await api("/api/users");
  const tokens = await api("/api/tokens");
  const roles = ["viewer", "operator", "admin"];
  const uerr = h("p", { className: "error" });
  const uform = h("form", { className: "row", id: "user-form" },
    h("input", { name: "username", placeholder: "username", required: true }),
    h("input", { name: "password", type: "password", placeholder: "password (10+ chars)", required: true, minlength: 10 }),
    h("select", { name: "role" }, roles.map((r) => h("option", { value: r }, r))), h("button", { type: "submit" }, "Add user"));
  uform.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fd = new FormData(uform);
    try { await api("/api/users", { method: "POST", body: Object.fromEntries(fd) }); route(); } catch (e) { uerr.textContent = e.message; }
  });
  main.append(h("h1", {}, "Users and tokens"), h("div", { className: "card table-wrap" }, h("h2", {}, "Users"),
    h("table", {}, h("tr", {}, h("th", {}, "User"), h("th", {}, "Role"), h("th", {}, "")),
      users.map((u) => {
        const sel = h("select", {}, roles.map((r) => h("option", { value: r, selected: r === u.role }, r)));
        sel.addEventListener("change", async () => {
          try { await api(`/api/users/${u.id}`, { method: "PATCH", body: { role: sel.value } }); toast(`${u.username} is now ${sel.value}`); }
          catch (e) { toast(e.message, true); route(); }
        });
        return h("tr", {}, h("td", {}, u.username), h("td", {}, sel), h("td", {}, h("button", { type: "button", className: "link",
          onclick: async () => { if (await confirmAction(`Delete user ${u.username}?`)) {
            try { await api(`/api/users/${u.id}`, { method: "DELETE" }); route(); } catch (e) { toast(e.message, true); } } } }, "delete")));
      })), uform, uerr));
  const secret = h("div", { id: "token-secret" });
  const terr = h("p", { className: "error" });
  const tform = h("form", { className: "row" },
    h("input", { name: "name", placeholder: "token name", required: true }),
    h("select", { name: "kind" }, h("option", { value: "device" }, "device (posts one pack)"), h("option", { value: "api" }, "API (scripts)")),
    h("input", { name: "pack_id", placeholder: "pack id (device tokens)" }),
    h("select", { name: "role" }, roles.map((r) => h("option", { value: r }, `API role: ${r}`))),
    h("button", { type: "submit" }, "Create token"));
  tform.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fd = new FormData(tform);
    try {
      const t = await api("/api/tokens", { method: "POST", body: { name: fd.get("name"), kind: fd.get("kind"),
        pack_id: fd.get("pack_id") || null, role: fd.get("role") } });
      secret.replaceChildren(h("p", {}, `Token "${t.name}" — copy it now, it is not shown again:`), h("div", { className: "secret" }, t.token));
    } catch (e) { terr.textContent = e.message; }
  });
  main.append(h("div", { className: "card table-wrap" }, h("h2", {}, "Tokens"),
    tokens.length ? h("table", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Kind"), h("th", {}, "Role / pack"), h("th", {}, "Created"), h("th", {}, "")),
      tokens.map((t) => h("tr", {}, h("td", {}, t.name), h("td", {}, t.kind), h("td", {}, t.kind === "device" ? t.pack_id : t.role),
        h("td", {}, `${when(t.created_at)} by ${t.created_by}`), h("td", {}, h("button", { type: "button", className: "link",
          onclick: async () => { if (await confirmAction(`Revoke token ${t.name}?`)) { await api(`/api/tokens/${t.id}`, { method: "DELETE" }); route(); } } }, "revoke")))))
      : h("p", { className: "muted" }, "No tokens."), tform, terr, secret));
}
