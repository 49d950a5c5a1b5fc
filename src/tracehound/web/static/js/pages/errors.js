// Errors: error patterns, errors over time, recent errors, and the causality chain of a
// chosen error laid out as a timeline.

import { h, s, clear } from "../dom.js";
import * as f from "../format.js";
import { bars, mount, legend, colorFor, showTip, hideTip } from "../charts.js";
import {
  pageHeader,
  card,
  kpi,
  kpis,
  table,
  traceHref,
  levelBadge,
  statusBadge,
  errorBox,
  loading,
  emptyState,
  pre,
  tag,
  LEVEL_COLORS,
  kindColor,
} from "../ui.js";

export async function render(root, ctx) {
  const data = await ctx.api.get("errors", { from: ctx.range.from, to: ctx.range.to });
  root.appendChild(pageHeader("Errors", "Error patterns, and what led to a chosen error"));
  const chosen = ctx.params.error || "";
  if (!data.total && !chosen) {
    root.appendChild(emptyState("No errors in this time range."));
    return;
  }
  const agents = Object.keys(data.by_agent);
  root.appendChild(
    kpis(
      kpi("Errors", f.num(data.total), { tone: data.total ? "bad" : "good", sub: data.truncated ? "(limited to the newest)" : undefined }),
      kpi("Patterns", f.num(data.patterns.length)),
      kpi("Agents affected", f.num(agents.length), { sub: agents.slice(0, 3).join(", ") }),
      kpi("Error types", f.num(Object.keys(data.by_type).length), { sub: Object.keys(data.by_type).slice(0, 2).map((t) => t.split(".").pop()).join(", ") }),
    ),
  );
  const causalBox = h("div", { class: "causality", dataset: { testid: "causality" } });
  const chainCard = card("Causality chain", causalBox);
  chainCard.id = "causality-card";

  const series = agents.slice(0, 10).map((a, i) => ({ key: a, label: a, color: colorFor(i) }));
  const items = data.series.map((b) => ({ t: b.t, ...b.by_agent }));
  const chartBox = h("div", { class: "chart-box" });
  const width = items.length > 1 ? items[1].t - items[0].t : 1000;
  root.appendChild(card("Errors over time, by agent", legend(series), chartBox));
  root.appendChild(
    card(
      "Patterns — one error type in one agent; click one to trace it back",
      table(
        [
          { label: "Count", class: "num", cell: (p) => f.num(p.count) },
          { label: "Type", class: "nowrap", cell: (p) => h("span", { class: "err-type", title: p.error_type || "" }, (p.error_type || "error").split(".").pop()) },
          { label: "Agent", cell: (p) => p.agent_name || "(no agent)" },
          {
            label: "Message",
            cell: (p) =>
              h(
                "div",
                null,
                h("span", { title: p.example_message || "" }, f.truncate(p.pattern, 160)),
                p.distinct_messages > 1 ? h("div", { class: "muted small" }, `${p.distinct_messages} message variants`) : null,
              ),
          },
          { label: "Recorded as", cell: (p) => h("span", { class: "muted small" }, Object.keys(p.recorded_as).join(", ")) },
          { label: "Traces", class: "num", cell: (p) => f.num(p.traces) },
          { label: "First", class: "nowrap", cell: (p) => f.clock(p.first_ms) },
          { label: "Last", class: "nowrap", cell: (p) => f.ago(p.last_ms) },
        ],
        data.patterns,
        { testid: "patterns", onRow: (p) => choose(p.example_id) },
      ),
    ),
  );
  root.appendChild(chainCard);
  const recentTable = table(
        [
          { label: "Time", class: "nowrap", cell: (e) => f.datetime(e.time_ms).slice(5) },
          { label: "Level", cell: (e) => levelBadge(e.level) },
          { label: "Agent", cell: (e) => e.agent_name || "(no agent)" },
          { label: "Type", class: "nowrap", cell: (e) => h("span", { class: "err-type" }, (e.error_type || "").split(".").pop()) },
          { label: "Message", cell: (e) => h("span", { title: e.message || "" }, f.truncate(e.message, 110)) },
          { label: "Recorded as", cell: (e) => h("span", { class: "muted" }, e.what) },
          { label: "", class: "nowrap", cell: (e) => (e.trace_id ? h("a", { href: traceHref(e.trace_id, e.span_id) }, "trace") : "") },
        ],
        data.errors.slice(0, 200),
        { testid: "recent-errors", onRow: (e) => choose(e.id), rowId: (e) => e.id },
      );
  root.appendChild(card("Recent errors — pick one to see what came before it", recentTable));
  if (items.length) {
    mount(
      chartBox,
      bars({
        items,
        series,
        xLabel: (i, it) => f.axisTime(it.t, width),
        title: (it) => f.datetime(it.t),
        yFormat: (v) => f.num(v),
        height: 170,
      }),
    );
  }

  let seq = 0;
  async function choose(id, scroll = true) {
    ctx.setParams({ error: id });
    const mine = ++seq;
    clear(causalBox).appendChild(loading("Tracing back…"));
    if (scroll) chainCard.scrollIntoView({ block: "start" });
    for (const tr of recentTable.querySelectorAll("tbody tr")) {
      tr.classList.toggle("highlight", tr.dataset.id === id);
    }
    let chain;
    try {
      chain = await ctx.api.get("causality/" + ctx.api.enc(id), { lookback: 60 });
    } catch (err) {
      if (mine === seq) clear(causalBox).appendChild(errorBox(err));
      return;
    }
    if (mine !== seq || !ctx.alive()) return;
    clear(causalBox).append(...causalityView(chain));
  }
  if (chosen) await choose(chosen, false);
  else if (data.errors.length) {
    // the newest error an agent reported (an error event), else the newest failure
    const first = data.errors.find((e) => e.record === "event" && e.agent_name) || data.errors[0];
    await choose(first.id, false);
  }
}

function causalityView(c) {
  const e = c.error;
  const head = h(
    "div",
    { class: "cause-error" },
    h(
      "div",
      { class: "cause-error-title" },
      h("strong", null, (e.error_type || e.name || "error").split(".").pop()),
      " in ",
      h("strong", null, e.agent_name || "(no agent)"),
      h("span", { class: "muted" }, ` at ${f.datetime(e.time_ms)}`),
      e.trace_id ? [" · ", h("a", { href: traceHref(e.trace_id, e.span_id) }, "open trace")] : null,
    ),
    h("p", { class: "err-message" }, e.message || ""),
    e.traceback ? h("details", { class: "tb" }, h("summary", null, "Traceback"), pre(e.traceback, "traceback")) : null,
  );
  const out = [head];
  if (!c.chain.length) {
    out.push(h("p", { class: "muted" }, `Nothing recorded in the ${c.lookback_s}s before this error.`));
    return out;
  }
  out.push(strip(c));
  const list = h("ol", { class: "timeline", dataset: { testid: "timeline" } });
  for (const item of c.chain) {
    const isErr = item.level === "ERROR" || item.level === "CRITICAL" || item.status === "failed" || item.status === "timeout";
    const color = isErr ? LEVEL_COLORS.ERROR : item.level === "WARNING" ? LEVEL_COLORS.WARNING : item.record === "span" ? kindColor(item.kind) : "#64748b";
    const what = item.record === "span" ? `${item.kind || "span"} ${item.name}` : `${item.type || "event"} ${item.name}`;
    list.appendChild(
      h(
        "li",
        { class: "tl-item" + (isErr ? " failed" : "") },
        h("span", { class: "tl-dot", style: { background: color } }),
        h(
          "div",
          { class: "tl-body" },
          h(
            "div",
            { class: "tl-head" },
            h("span", { class: "tl-time" }, `−${(item.seconds_before ?? 0).toFixed(3)} s`),
            item.level ? levelBadge(item.level) : null,
            item.status ? statusBadge(item.status) : null,
            h("strong", null, " " + (item.agent_name || "(no agent)")),
            h("span", { class: "muted" }, " · " + what),
            item.trace_id ? [" ", h("a", { href: traceHref(item.trace_id, item.span_id || item.id) }, "trace")] : null,
          ),
          item.message ? h("div", { class: "tl-msg" }, item.message) : null,
          h("div", { class: "tl-reasons" }, (item.reasons || []).map((r) => tag(r))),
        ),
      ),
    );
  }
  list.appendChild(
    h(
      "li",
      { class: "tl-item failed target" },
      h("span", { class: "tl-dot", style: { background: LEVEL_COLORS.CRITICAL } }),
      h(
        "div",
        { class: "tl-body" },
        h("div", { class: "tl-head" }, h("span", { class: "tl-time" }, "0 s"), h("strong", null, " the error: "), (e.error_type || e.name || "").split(".").pop()),
        h("div", { class: "tl-msg" }, e.message || ""),
      ),
    ),
  );
  out.push(list);
  return out;
}

/** The chain on one horizontal time axis ending at the error. */
function strip(c) {
  const width = 900;
  const height = 56;
  const lookback = Math.max(...c.chain.map((i) => i.seconds_before || 0), 1e-3) * 1.05;
  const svg = s("svg", { class: "strip", viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img" });
  const x = (sec) => 20 + (width - 40) * (1 - sec / lookback);
  svg.appendChild(s("line", { x1: 20, x2: width - 20, y1: 30, y2: 30, class: "strip-axis" }));
  for (const item of c.chain) {
    const isErr = item.level === "ERROR" || item.level === "CRITICAL" || item.status === "failed" || item.status === "timeout";
    const dot = s("circle", {
      cx: x(item.seconds_before || 0),
      cy: 30,
      r: isErr ? 6 : 4.5,
      fill: isErr ? LEVEL_COLORS.ERROR : item.level === "WARNING" ? LEVEL_COLORS.WARNING : "#6366f1",
      class: "strip-dot",
    });
    dot.addEventListener("mousemove", (ev) =>
      showTip(ev, `−${(item.seconds_before || 0).toFixed(3)} s`, [[null, item.agent_name || "", f.truncate(item.message || item.name, 80)]]),
    );
    dot.addEventListener("mouseleave", hideTip);
    svg.appendChild(dot);
  }
  svg.appendChild(s("path", { d: `M${width - 20},22 l6,8 l-6,8 l-6,-8 z`, fill: LEVEL_COLORS.CRITICAL }));
  svg.appendChild(s("text", { x: 20, y: 14, class: "axis-label" }, `−${lookback.toFixed(3)} s`));
  svg.appendChild(s("text", { x: width - 20, y: 14, class: "axis-label", "text-anchor": "end" }, "error"));
  return h("div", { class: "strip-box" }, svg);
}
