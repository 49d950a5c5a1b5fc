// Small SVG charts (no library): stacked bars over time, lines/areas, horizontal bars,
// sparklines, and a shared tooltip. Labels are text nodes (never markup).

import { h, s, clear } from "./dom.js";

const PAD = { top: 12, right: 14, bottom: 26, left: 52 };

export const PALETTE = [
  "#6366f1",
  "#0ea5e9",
  "#f59e0b",
  "#10b981",
  "#ef4444",
  "#a855f7",
  "#14b8a6",
  "#f97316",
  "#64748b",
  "#ec4899",
  "#84cc16",
  "#06b6d4",
];

export function colorFor(i) {
  return PALETTE[i % PALETTE.length];
}

// -- tooltip -------------------------------------------------------------------------------

let tip = null;

function tooltip() {
  if (!tip) {
    tip = h("div", { class: "tooltip", role: "tooltip" });
    document.body.appendChild(tip);
  }
  return tip;
}

/** Show the tooltip near the pointer with a title and rows of [color, label, value]. */
export function showTip(evt, title, rows) {
  const t = tooltip();
  clear(t);
  if (title) t.appendChild(h("div", { class: "tip-title" }, title));
  for (const [color, label, value] of rows) {
    t.appendChild(
      h(
        "div",
        { class: "tip-row" },
        color ? h("span", { class: "swatch", style: { background: color } }) : null,
        h("span", { class: "tip-label" }, label),
        h("span", { class: "tip-value" }, value),
      ),
    );
  }
  t.style.display = "block";
  const x = evt.clientX + 14;
  const y = evt.clientY + 14;
  const w = t.offsetWidth;
  const hh = t.offsetHeight;
  t.style.left = Math.min(x, window.innerWidth - w - 8) + "px";
  t.style.top = Math.min(y, window.innerHeight - hh - 8) + "px";
}

export function hideTip() {
  if (tip) tip.style.display = "none";
}

// -- helpers ---------------------------------------------------------------------------------

/** A "nice" axis: a step of 1, 2, 2.5 or 5 × 10^k and a top that is a multiple of it. */
function niceAxis(value, ticks = 4, integer = false) {
  if (!(value > 0)) return { max: integer ? ticks : 1, step: integer ? 1 : 0.25, ticks };
  const raw = value / ticks;
  const exp = Math.pow(10, Math.floor(Math.log10(raw)));
  let step = exp;
  for (const m of [1, 2, 2.5, 5, 10]) {
    step = m * exp;
    if (step >= raw) break;
  }
  if (integer) step = Math.max(1, Math.ceil(step));
  const n = Math.max(1, Math.ceil(value / step - 1e-9));
  return { max: n * step, step, ticks: n };
}

function niceMax(value) {
  return niceAxis(value).max;
}

function yAxis(svg, scaleY, axis, width, fmt) {
  for (let i = 0; i <= axis.ticks; i++) {
    const v = axis.step * i;
    const y = scaleY(v);
    svg.appendChild(
      s("line", { x1: PAD.left, x2: width - PAD.right, y1: y, y2: y, class: "grid" }),
    );
    svg.appendChild(
      s("text", { x: PAD.left - 6, y: y + 4, class: "axis-label", "text-anchor": "end" }, fmt(v)),
    );
  }
}

function xLabels(svg, n, xAt, height, label) {
  if (!n) return;
  const every = Math.max(1, Math.ceil(n / 7));
  for (let i = 0; i < n; i += every) {
    svg.appendChild(
      s(
        "text",
        { x: xAt(i), y: height - 8, class: "axis-label", "text-anchor": "middle" },
        label(i),
      ),
    );
  }
}

/** Mount a chart that redraws when its box changes width. draw(width) → an SVG element. */
export function mount(box, draw) {
  if (box.__observer) box.__observer.disconnect();
  let lastWidth = 0;
  const render = () => {
    const width = Math.max(240, Math.floor(box.clientWidth || 600));
    if (width === lastWidth) return;
    lastWidth = width;
    clear(box);
    box.appendChild(draw(width));
  };
  render();
  if (typeof ResizeObserver !== "undefined") {
    const ro = new ResizeObserver(() => requestAnimationFrame(render));
    ro.observe(box);
    box.__observer = ro;
  }
  return box;
}

export function legend(series) {
  return h(
    "div",
    { class: "legend" },
    series.map((ser) =>
      h(
        "span",
        { class: "legend-item" },
        h("span", { class: "swatch", style: { background: ser.color } }),
        ser.label,
      ),
    ),
  );
}

export function empty(message = "No data in this range") {
  return h("div", { class: "chart-empty" }, message);
}

// -- bars over time --------------------------------------------------------------------------

/**
 * Vertical bars, one per item, stacked by series.
 * opts: {items, series:[{key,label,color}], xLabel(i,item), yFormat(v), height, title(item),
 *        onClick(item)}
 */
export function bars(opts) {
  const { items, series, height = 200, yFormat = (v) => String(Math.round(v)) } = opts;
  return (width) => {
    const svg = s("svg", {
      class: "chart",
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
    });
    if (!items.length) return svg;
    const totals = items.map((it) => series.reduce((a, ser) => a + (Number(it[ser.key]) || 0), 0));
    const integer = totals.every((t) => Number.isInteger(t)) && opts.integer !== false;
    const axis = niceAxis(Math.max(...totals), 4, integer);
    const maxY = axis.max;
    const innerW = width - PAD.left - PAD.right;
    const innerH = height - PAD.top - PAD.bottom;
    const scaleY = (v) => PAD.top + innerH - (v / maxY) * innerH;
    yAxis(svg, scaleY, axis, width, yFormat);
    const step = innerW / items.length;
    const bw = Math.max(1, step * 0.78);
    items.forEach((it, i) => {
      let acc = 0;
      const x = PAD.left + i * step + (step - bw) / 2;
      const g = s("g", { class: "bar-group" });
      for (const ser of series) {
        const v = Number(it[ser.key]) || 0;
        if (v <= 0) continue;
        const y0 = scaleY(acc);
        const y1 = scaleY(acc + v);
        acc += v;
        g.appendChild(
          s("rect", {
            x,
            y: y1,
            width: bw,
            height: Math.max(0.5, y0 - y1),
            fill: ser.color,
            class: "bar",
          }),
        );
      }
      // a full-height hit area for the tooltip
      const hit = s("rect", {
        x: PAD.left + i * step,
        y: PAD.top,
        width: step,
        height: innerH,
        class: "hit",
      });
      hit.addEventListener("mousemove", (e) =>
        showTip(
          e,
          opts.title ? opts.title(it, i) : "",
          series.map((ser) => [ser.color, ser.label, yFormat(Number(it[ser.key]) || 0)]),
        ),
      );
      hit.addEventListener("mouseleave", hideTip);
      if (opts.onClick) {
        hit.addEventListener("click", () => opts.onClick(it, i));
        hit.classList.add("clickable");
      }
      g.appendChild(hit);
      svg.appendChild(g);
    });
    xLabels(svg, items.length, (i) => PAD.left + i * step + step / 2, height, (i) =>
      opts.xLabel ? opts.xLabel(i, items[i]) : String(i),
    );
    return svg;
  };
}

// -- lines and areas -------------------------------------------------------------------------

/**
 * Lines over an index axis (items in order).
 * opts: {items, series:[{key,label,color,area,dash,points}], xLabel(i,item), yFormat,
 *        height, title(item), minY, maxY}
 */
export function lines(opts) {
  const { items, series, height = 200, yFormat = (v) => String(v) } = opts;
  return (width) => {
    const svg = s("svg", {
      class: "chart",
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
    });
    if (!items.length) return svg;
    let lo = opts.minY ?? 0;
    let hi = opts.maxY ?? -Infinity;
    for (const it of items) {
      for (const ser of series) {
        const v = it[ser.key];
        if (v === null || v === undefined || Number.isNaN(v)) continue;
        if (opts.minY === undefined) lo = Math.min(lo, v);
        if (opts.maxY === undefined) hi = Math.max(hi, v);
      }
    }
    if (!Number.isFinite(hi)) hi = 1;
    if (opts.maxY === undefined) hi = niceMax(hi > 0 ? hi : 1);
    if (lo < 0 && opts.minY === undefined) lo = -niceMax(-lo);
    if (lo < 0 && hi > 0 && opts.maxY === undefined) {
      // one step size for both sides, so the zero line sits on a grid line
      const step = niceAxis(hi - lo, 4).step;
      lo = -Math.ceil(-lo / step - 1e-9) * step;
      hi = Math.ceil(hi / step - 1e-9) * step;
    }
    const span = hi - lo || 1;
    const gridStep = niceAxis(span, 4).step;
    const gridN = Math.max(1, Math.round(span / gridStep));
    const innerW = width - PAD.left - PAD.right;
    const innerH = height - PAD.top - PAD.bottom;
    const n = items.length;
    const xAt = (i) => PAD.left + (n === 1 ? innerW / 2 : (i * innerW) / (n - 1));
    const scaleY = (v) => PAD.top + innerH - ((v - lo) / span) * innerH;
    // grid from lo to hi
    for (let k = 0; k <= gridN; k++) {
      const v = lo + (span * k) / gridN;
      const y = scaleY(v);
      svg.appendChild(s("line", { x1: PAD.left, x2: width - PAD.right, y1: y, y2: y, class: "grid" }));
      svg.appendChild(
        s("text", { x: PAD.left - 6, y: y + 4, class: "axis-label", "text-anchor": "end" }, yFormat(v)),
      );
    }
    if (lo < 0 && hi > 0) {
      svg.appendChild(
        s("line", { x1: PAD.left, x2: width - PAD.right, y1: scaleY(0), y2: scaleY(0), class: "zero" }),
      );
    }
    for (const ser of series) {
      let d = "";
      let started = false;
      const pts = [];
      items.forEach((it, i) => {
        const v = it[ser.key];
        if (v === null || v === undefined || Number.isNaN(v)) {
          started = false;
          return;
        }
        const x = xAt(i);
        const y = scaleY(v);
        d += (started ? "L" : "M") + x.toFixed(1) + "," + y.toFixed(1);
        started = true;
        pts.push([x, y]);
      });
      if (ser.area && pts.length) {
        const base = scaleY(Math.max(lo, 0));
        const area =
          "M" +
          pts[0][0].toFixed(1) +
          "," +
          base.toFixed(1) +
          pts.map(([x, y]) => "L" + x.toFixed(1) + "," + y.toFixed(1)).join("") +
          "L" +
          pts[pts.length - 1][0].toFixed(1) +
          "," +
          base.toFixed(1) +
          "Z";
        svg.appendChild(s("path", { d: area, fill: ser.color, class: "area" }));
      }
      if (d) {
        svg.appendChild(
          s("path", {
            d,
            stroke: ser.color,
            class: "line" + (ser.dash ? " dashed" : ""),
            fill: "none",
          }),
        );
      }
      if (ser.points || pts.length === 1) {
        for (const [x, y] of pts) {
          svg.appendChild(s("circle", { cx: x, cy: y, r: 2.5, fill: ser.color, class: "point" }));
        }
      }
    }
    if (opts.marks) {
      for (const m of opts.marks) {
        const y = scaleY(m.value);
        svg.appendChild(
          s("line", { x1: PAD.left, x2: width - PAD.right, y1: y, y2: y, class: "mark", stroke: m.color || "#dc2626" }),
        );
        svg.appendChild(
          s("text", { x: width - PAD.right - 2, y: y - 3, class: "axis-label", "text-anchor": "end" }, m.label),
        );
      }
    }
    const guide = s("line", { x1: 0, x2: 0, y1: PAD.top, y2: PAD.top + innerH, class: "guide" });
    guide.style.display = "none";
    svg.appendChild(guide);
    const hit = s("rect", { x: PAD.left, y: PAD.top, width: innerW, height: innerH, class: "hit" });
    hit.addEventListener("mousemove", (e) => {
      const box = svg.getBoundingClientRect();
      const px = e.clientX - box.left;
      const i = Math.max(0, Math.min(n - 1, Math.round(((px - PAD.left) / innerW) * (n - 1))));
      guide.setAttribute("x1", xAt(i));
      guide.setAttribute("x2", xAt(i));
      guide.style.display = "";
      const it = items[i];
      showTip(
        e,
        opts.title ? opts.title(it, i) : "",
        series.map((ser) => [
          ser.color,
          ser.label,
          it[ser.key] === null || it[ser.key] === undefined ? "—" : yFormat(it[ser.key]),
        ]),
      );
    });
    hit.addEventListener("mouseleave", () => {
      guide.style.display = "none";
      hideTip();
    });
    svg.appendChild(hit);
    xLabels(svg, n, xAt, height, (i) => (opts.xLabel ? opts.xLabel(i, items[i]) : String(i)));
    return svg;
  };
}

// -- horizontal bars -------------------------------------------------------------------------

/**
 * Horizontal bars: rows [{label, parts:[{value,color,label}], note, href, onClick}].
 * Plain DOM (not SVG) so long labels wrap and rows are links.
 */
export function hbars(rows, { format = (v) => String(v), max, marker } = {}) {
  if (!rows.length) return empty();
  const top =
    max ?? Math.max(...rows.map((r) => r.parts.reduce((a, p) => a + (Number(p.value) || 0), 0)), 1e-12);
  return h(
    "div",
    { class: "hbars" },
    rows.map((r) => {
      const total = r.parts.reduce((a, p) => a + (Number(p.value) || 0), 0);
      const track = h("div", { class: "hbar-track" });
      for (const p of r.parts) {
        const w = top > 0 ? (100 * (Number(p.value) || 0)) / top : 0;
        if (w <= 0) continue;
        const seg = h("div", {
          class: "hbar-seg",
          style: { width: w + "%", background: p.color },
          title: `${p.label}: ${format(p.value)}`,
        });
        track.appendChild(seg);
      }
      if (marker && r.marker !== undefined && r.marker !== null && top > 0) {
        track.appendChild(
          h("div", {
            class: "hbar-marker",
            style: { left: (100 * r.marker) / top + "%" },
            title: marker + ": " + format(r.marker),
          }),
        );
      }
      const label = r.href
        ? h("a", { href: r.href, class: "hbar-label", title: r.label }, r.label)
        : h("span", { class: "hbar-label", title: r.label }, r.label);
      return h(
        "div",
        { class: "hbar-row" },
        label,
        track,
        h("span", { class: "hbar-value" }, r.note ?? format(total)),
      );
    }),
  );
}

// -- sparkline -------------------------------------------------------------------------------

export function sparkline(values, { width = 120, height = 26, color = "#6366f1", marks = [] } = {}) {
  const svg = s("svg", { class: "spark", width, height, viewBox: `0 0 ${width} ${height}` });
  if (!values || !values.length) return svg;
  const max = Math.max(...values, 1);
  const step = width / values.length;
  values.forEach((v, i) => {
    const hh = (v / max) * (height - 2);
    if (v > 0) {
      svg.appendChild(
        s("rect", { x: i * step + 0.5, y: height - hh, width: Math.max(1, step - 1), height: hh, fill: color }),
      );
    }
    const m = marks[i] || 0;
    if (m > 0) {
      const mh = (m / max) * (height - 2);
      svg.appendChild(
        s("rect", { x: i * step + 0.5, y: height - mh, width: Math.max(1, step - 1), height: mh, fill: "#dc2626" }),
      );
    }
  });
  return svg;
}
