// Interactions: counts by type, the agents' collaboration graph, and viral reshare cascades
// drawn as trees.

import { h, s, clear } from "../dom.js";
import * as f from "../format.js";
import { hbars, colorFor, showTip, hideTip } from "../charts.js";
import { pageHeader, card, kpi, kpis, table, traceHref, emptyState } from "../ui.js";

export async function render(root, ctx) {
  const data = await ctx.api.get("interactions", { from: ctx.range.from, to: ctx.range.to });
  root.appendChild(pageHeader("Interactions", "Who worked with whom, and how content spread"));
  if (!data.total) {
    root.appendChild(emptyState("No interaction events in this time range."));
    return;
  }
  const biggest = data.cascades[0];
  const deepest = data.cascades.reduce((m, c) => Math.max(m, c.depth), 0);
  root.appendChild(
    kpis(
      kpi("Interactions", f.num(data.total)),
      kpi("Cascades", f.num(data.total_cascades)),
      kpi("Largest reach", biggest ? f.num(biggest.reach) : "—", { sub: biggest ? biggest.root : undefined }),
      kpi("Deepest cascade", f.num(deepest), { sub: "reshare levels" }),
      kpi("Collaborations", f.num(data.collaboration.reduce((a, e) => a + e.count, 0))),
    ),
  );
  const types = Object.entries(data.by_type).map(([t, n], i) => ({
    label: t,
    parts: [{ value: n, color: colorFor(i), label: t }],
  }));
  root.appendChild(
    h(
      "div",
      { class: "grid-2" },
      card("By type", hbars(types, { format: f.num })),
      card("Collaboration between agents", data.collaboration.length ? graph(data.collaboration) : h("p", { class: "muted" }, "No agent-to-agent interactions.")),
    ),
  );
  const treeBox = h("div", { class: "tree-box", dataset: { testid: "cascade-tree" } });
  const chosen = data.cascades.find((c) => c.root === ctx.params.cascade) || data.cascades[0];
  const tableEl = table(
    [
      { label: "Content", class: "nowrap", cell: (c) => c.root },
      { label: "Platform", cell: (c) => c.platform || "" },
      { label: "Reach", class: "num", cell: (c) => f.num(c.reach) },
      { label: "Depth", class: "num", cell: (c) => f.num(c.depth) },
      { label: "Resharers", class: "num", cell: (c) => f.num(c.resharers) },
      { label: "Likes", class: "num", cell: (c) => f.num(c.likes) },
      { label: "Comments", class: "num", cell: (c) => f.num(c.comments) },
      { label: "Started", class: "nowrap", cell: (c) => f.datetime(c.first_ms).slice(5) },
      { label: "", class: "nowrap", cell: (c) => (c.trace_id ? h("a", { href: traceHref(c.trace_id) }, "trace") : "") },
    ],
    data.cascades,
    { testid: "cascades", onRow: (c) => choose(c), empty: "No shares or reshares in this range" },
  );
  const treeCard = card("Cascade", treeBox);
  root.appendChild(h("div", { class: "grid-2 wide-right" }, card("Reshare cascades", tableEl), treeCard));

  function choose(c) {
    ctx.setParams({ cascade: c.root });
    for (const tr of tableEl.querySelectorAll("tbody tr")) tr.classList.remove("highlight");
    const idx = data.cascades.indexOf(c);
    const tr = tableEl.querySelectorAll("tbody tr")[idx];
    if (tr) tr.classList.add("highlight");
    clear(treeBox).append(
      h("p", { class: "muted" }, `${c.root}: reach ${c.reach}, depth ${c.depth}, ${c.resharers} resharers`),
      tree(c),
    );
    treeBox.dataset.nodes = String(c.nodes.length);
  }
  if (chosen) choose(chosen);
}

/** A left-to-right tree of a cascade: the root content, then each share and reshare. */
function tree(c) {
  const byId = new Map(c.nodes.map((n) => [n.id, { ...n, children: [] }]));
  let root = null;
  for (const n of byId.values()) {
    const p = n.parent !== null && n.parent !== undefined ? byId.get(n.parent) : null;
    if (p && p !== n) p.children.push(n);
    else if (!root) root = n;
  }
  if (!root) return h("p", { class: "muted" }, "Empty cascade");
  // leaves get consecutive rows; parents sit at the middle of their children
  let row = 0;
  let maxDepth = 0;
  const place = (n, depth) => {
    n.x = depth;
    maxDepth = Math.max(maxDepth, depth);
    n.children.sort((a, b) => (a.t || 0) - (b.t || 0));
    if (!n.children.length) {
      n.y = row++;
      return;
    }
    const stack = [];
    for (const ch of n.children) {
      place(ch, depth + 1);
      stack.push(ch.y);
    }
    n.y = (stack[0] + stack[stack.length - 1]) / 2;
  };
  place(root, 0);
  const colW = 150;
  const rowH = 24;
  const width = (maxDepth + 1) * colW + 40;
  const height = Math.max(row, 1) * rowH + 20;
  const svg = s("svg", { class: "tree", width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
  const X = (n) => 14 + n.x * colW;
  const Y = (n) => 12 + n.y * rowH;
  const all = [];
  const walk = [root];
  while (walk.length) {
    const n = walk.pop();
    all.push(n);
    for (const ch of n.children) walk.push(ch);
  }
  for (const n of all) {
    for (const ch of n.children) {
      const mx = (X(n) + X(ch)) / 2;
      svg.appendChild(
        s("path", { d: `M${X(n)},${Y(n)} C${mx},${Y(n)} ${mx},${Y(ch)} ${X(ch)},${Y(ch)}`, class: "tree-edge" }),
      );
    }
  }
  for (const n of all) {
    const isRoot = n === root;
    const g = s("g", { class: "tree-node" + (isRoot ? " root" : ""), transform: `translate(${X(n)},${Y(n)})` });
    g.appendChild(s("circle", { r: isRoot ? 7 : 5, fill: isRoot ? "#4f46e5" : colorFor(n.x) }));
    g.appendChild(s("text", { x: 10, y: 4, class: "tree-label" }, isRoot ? n.id : n.actor || n.id));
    g.addEventListener("mousemove", (e) =>
      showTip(e, isRoot ? "origin" : `depth ${n.depth}`, [
        [null, "content", n.id],
        [null, "by", n.actor || "—"],
        [null, "at", n.t ? f.datetime(n.t) : "—"],
      ]),
    );
    g.addEventListener("mouseleave", hideTip);
    svg.appendChild(g);
  }
  return h("div", { class: "tree-scroll" }, svg);
}

/** Agents on a circle, with arrows weighted by how often one handed work to another. */
function graph(edges) {
  const names = [...new Set(edges.flatMap((e) => [e.source, e.target]))].sort();
  const size = 360;
  const r = size / 2 - 70;
  const cx = size / 2 + 30;
  const cy = size / 2;
  const pos = new Map(
    names.map((n, i) => {
      const a = (2 * Math.PI * i) / names.length - Math.PI / 2;
      return [n, [cx + r * Math.cos(a), cy + r * Math.sin(a), a]];
    }),
  );
  const max = Math.max(...edges.map((e) => e.count));
  const svg = s("svg", { class: "graph", viewBox: `0 0 ${size + 60} ${size}`, role: "img" });
  svg.appendChild(
    s(
      "defs",
      null,
      s("marker", { id: "th-arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "9", markerHeight: "9", markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" })),
    ),
  );
  for (const e of edges) {
    const [x1, y1] = pos.get(e.source);
    const [x2, y2] = pos.get(e.target);
    // shorten to the node circles, bend slightly so A→B and B→A do not overlap
    const dx = x2 - x1;
    const dy = y2 - y1;
    const len = Math.hypot(dx, dy) || 1;
    const ux = dx / len;
    const uy = dy / len;
    const sx = x1 + ux * 12;
    const sy = y1 + uy * 12;
    const tx = x2 - ux * 14;
    const ty = y2 - uy * 14;
    const mx = (sx + tx) / 2 - uy * 22;
    const my = (sy + ty) / 2 + ux * 22;
    const path = s("path", {
      d: `M${sx},${sy} Q${mx},${my} ${tx},${ty}`,
      class: "graph-edge",
      "stroke-width": 1 + (4 * e.count) / max,
      "marker-end": "url(#th-arrow)",
    });
    path.addEventListener("mousemove", (ev) => showTip(ev, `${e.source} → ${e.target}`, Object.entries(e.types).map(([t, n]) => [null, t, f.num(n)])));
    path.addEventListener("mouseleave", hideTip);
    svg.appendChild(path);
  }
  names.forEach((n, i) => {
    const [x, y, a] = pos.get(n);
    const right = Math.cos(a) >= 0;
    svg.appendChild(s("circle", { cx: x, cy: y, r: 10, fill: colorFor(i), class: "graph-node" }));
    svg.appendChild(
      s(
        "text",
        { x: x + (right ? 14 : -14), y: y + 4, "text-anchor": right ? "start" : "end", class: "graph-label" },
        n,
      ),
    );
  });
  return svg;
}
