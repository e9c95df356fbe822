// Small SVG charts written for this dashboard: no libraries, no build step.
const NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function niceTicks(lo, hi, count = 5) {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= count) || raw;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toFixed(10));
  return ticks;
}

// The SOC gauge: a 270° arc with the percentage in the middle.
export function socGauge(soc) {
  const r = 52, c = 2 * Math.PI * r, arc = 0.75 * c;
  const pct = Number.isFinite(soc) ? Math.max(0, Math.min(100, soc)) : 0;
  const root = svg("svg", { viewBox: "0 0 140 130", class: "gauge", role: "img",
    "aria-label": Number.isFinite(soc) ? `state of charge ${soc.toFixed(1)} %` : "state of charge unknown" });
  const g = svg("g", { transform: "rotate(135 70 70)" });
  g.append(svg("circle", { cx: 70, cy: 70, r, fill: "none", class: "track", "stroke-width": 12,
    "stroke-dasharray": `${arc} ${c}`, "stroke-linecap": "round" }));
  g.append(svg("circle", { cx: 70, cy: 70, r, fill: "none", class: "fill", "stroke-width": 12,
    "stroke-dasharray": `${(arc * pct) / 100} ${c}`, "stroke-linecap": "round" }));
  root.append(g);
  root.append(svg("text", { x: 70, y: 76, "text-anchor": "middle", class: "big", id: "soc-value" },
    Number.isFinite(soc) ? `${soc.toFixed(0)}%` : "–"));
  root.append(svg("text", { x: 70, y: 122, "text-anchor": "middle" }, "state of charge"));
  return root;
}

// Cell voltages as bars; the lowest and highest cell coloured, balancing cells marked underneath.
export function cellBars(cells, balancing = [], width = 640) {
  const n = cells.length;
  const W = Math.max(300, width), H = 240, left = 44, right = 8, top = 10, bottom = 40;
  const finite = cells.filter(Number.isFinite);
  const min = Math.min(...finite), max = Math.max(...finite);
  const pad = Math.max(0.01, (max - min) * 0.5);
  const lo = Math.floor((min - pad) * 100) / 100, hi = Math.ceil((max + pad) * 100) / 100;
  const y = (v) => top + (H - top - bottom) * (1 - (v - lo) / (hi - lo || 1));
  const band = (W - left - right) / Math.max(n, 1);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart cells", role: "img",
    "aria-label": `cell voltages, ${n} cells` });
  for (const t of niceTicks(lo, hi, 4)) {
    root.append(svg("line", { x1: left, x2: W - right, y1: y(t), y2: y(t), class: "grid-line" }));
    root.append(svg("text", { x: left - 4, y: y(t) + 4, "text-anchor": "end" }, t.toFixed(2)));
  }
  const iMin = cells.indexOf(min), iMax = cells.indexOf(max);
  const bal = new Set(balancing);
  cells.forEach((v, i) => {
    const x = left + i * band + band * 0.12, w = band * 0.76;
    const cls = i === iMax ? "bar max" : i === iMin ? "bar min" : "bar";
    const vv = Number.isFinite(v) ? v : lo;
    const rect = svg("rect", { x, y: y(vv), width: w, height: Math.max(1, y(lo) - y(vv)), class: cls,
      "data-cell": i + 1, "data-v": Number.isFinite(v) ? v.toFixed(3) : "" });
    rect.append(svg("title", {}, `cell ${i + 1}: ${Number.isFinite(v) ? v.toFixed(3) + " V" : "no reading"}` +
      (bal.has(i + 1) ? " (balancing)" : "")));
    root.append(rect);
    if (band >= 14) root.append(svg("text", { x: x + w / 2, y: H - bottom + 14, "text-anchor": "middle" }, i + 1));
    if (bal.has(i + 1)) {
      root.append(svg("rect", { x, y: H - bottom + 20, width: w, height: 6, rx: 2, class: "bal",
        "data-balancing": i + 1 }));
    }
  });
  return root;
}

// A time-series chart; drag across it to zoom (onZoom(t0, t1)), double-click to reset (onZoom(null)).
export function lineChart(series, { unit = "", range = null, onZoom = null, height = 180, width = 640 } = {}) {
  const W = Math.max(300, width), H = height, left = 52, right = 10, top = 10, bottom = 24;
  const pts = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p[1])));
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart line" });
  if (!pts.length) {
    root.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no data in this range"));
    return root;
  }
  const t0 = range ? range[0] : Math.min(...pts.map((p) => p[0]));
  const t1 = range ? range[1] : Math.max(...pts.map((p) => p[0]));
  let lo = Math.min(...pts.map((p) => p[1])), hi = Math.max(...pts.map((p) => p[1]));
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const padv = (hi - lo) * 0.08; lo -= padv; hi += padv;
  const x = (t) => left + (W - left - right) * ((t - t0) / (t1 - t0 || 1));
  const y = (v) => top + (H - top - bottom) * (1 - (v - lo) / (hi - lo));
  for (const t of niceTicks(lo, hi, 4)) {
    root.append(svg("line", { x1: left, x2: W - right, y1: y(t), y2: y(t), class: "grid-line" }));
    root.append(svg("text", { x: left - 4, y: y(t) + 4, "text-anchor": "end" }, `${+t.toFixed(3)}${unit}`));
  }
  const span = t1 - t0;
  const fmt = (t) => { const d = new Date(t * 1000);
    return span > 2 * 86400 ? d.toLocaleDateString([], { month: "short", day: "numeric" }) :
      d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: span < 600 ? "2-digit" : undefined }); };
  for (let i = 0; i <= 4; i++) {
    const t = t0 + (span * i) / 4;
    root.append(svg("text", { x: x(t), y: H - 6, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, fmt(t)));
  }
  for (const s of series) {
    let d = "", gap = true;
    for (const [t, v] of s.points) {
      if (!Number.isFinite(v) || t < t0 || t > t1) { gap = true; continue; }
      d += `${gap ? "M" : "L"}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      gap = false;
    }
    root.append(svg("path", { d, fill: "none", stroke: s.color, "stroke-width": 1.6 }));
  }
  if (onZoom) {
    const sel = svg("rect", { class: "sel", y: top, height: H - top - bottom, width: 0, x: 0 });
    root.append(sel);
    const toT = (ev) => { const r = root.getBoundingClientRect();
      const px = ((ev.clientX - r.left) / r.width) * W; return t0 + ((px - left) / (W - left - right)) * span; };
    let start = null;
    root.addEventListener("pointerdown", (ev) => { start = toT(ev); root.setPointerCapture(ev.pointerId); });
    root.addEventListener("pointermove", (ev) => {
      if (start === null) return;
      const t = toT(ev); sel.setAttribute("x", x(Math.min(start, t))); sel.setAttribute("width", Math.abs(x(t) - x(start)));
    });
    root.addEventListener("pointerup", (ev) => {
      if (start === null) return;
      const t = toT(ev), a = Math.max(t0, Math.min(start, t)), b = Math.min(t1, Math.max(start, t));
      start = null; sel.setAttribute("width", 0);
      if (b - a > span / 200) onZoom(a, b);
    });
    root.addEventListener("dblclick", () => onZoom(null));
  }
  return root;
}
