// Overview: KPIs, executions/latency/cost over time, top errors, busiest and slowest agents.

import { h } from "../dom.js";
import * as f from "../format.js";
import { bars, lines, hbars, mount, legend, empty } from "../charts.js";
import { pageHeader, card, kpi, kpis, table, traceHref, STATUS_COLORS, emptyState } from "../ui.js";

export async function render(root, ctx) {
  const { range } = ctx;
  const data = await ctx.api.get("overview", { from: range.from, to: range.to });
  build(root, ctx, data);
  let timer = null;
  ctx.onLive(() => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (!ctx.alive()) return;
      try {
        const fresh = await ctx.api.get("overview", { from: ctx.range.from, to: ctx.range.to });
        if (ctx.alive()) build(root, ctx, fresh);
      } catch {
        /* keep what is shown */
      }
    }, 1500);
  });
  return () => clearTimeout(timer);
}

function build(root, ctx, data) {
  while (root.firstChild) root.removeChild(root.firstChild);
  const k = data.kpis;
  root.appendChild(
    pageHeader("Overview", `Agent executions, latency and LLM cost — ${ctx.range.label.toLowerCase()}`),
  );
  if (!k.executions && !k.llm_calls) {
    root.appendChild(noData(ctx));
    return;
  }
  root.appendChild(
    kpis(
      kpi("Executions", f.num(k.executions), { sub: `${f.num(k.traces)} traces`, testid: "kpi-executions" }),
      kpi("Success rate", f.pct(k.success_rate), {
        sub: `${f.num(k.failed)} failed · ${f.num(k.skipped)} skipped`,
        tone: k.failed ? "warn" : "good",
      }),
      kpi("Latency p50", f.duration(k.p50_ms), { sub: "agent executions that ran" }),
      kpi("Latency p95", f.duration(k.p95_ms)),
      kpi("LLM cost", f.money(k.cost), {
        sub: `${f.num(k.llm_calls)} calls · ${f.compact(k.tokens)} tokens`,
      }),
      kpi("Unpriced calls", f.num(k.unpriced_calls), {
        sub: "model price unknown",
        tone: k.unpriced_calls ? "warn" : undefined,
      }),
      kpi("Failed runs", f.num(k.failed), {
        sub: `${f.num(k.llm_failed)} failed LLM calls · ${f.num(k.error_events)} error events`,
        tone: k.failed ? "bad" : "good",
      }),
    ),
  );
  const axis = data.axis;
  const items = data.series;
  const tLabel = (i, it) => f.axisTime(it.t, axis ? axis.width_ms : 1000);
  const title = (it) =>
    `${f.datetime(it.t)} (+${f.duration(axis.width_ms)})`;
  const statusSeries = [
    { key: "success", label: "success", color: STATUS_COLORS.success },
    { key: "failed", label: "failed / timeout", color: STATUS_COLORS.failed },
    { key: "skipped", label: "skipped", color: STATUS_COLORS.skipped },
    { key: "other", label: "running / other", color: STATUS_COLORS.running },
  ];
  const execBox = h("div", { class: "chart-box", dataset: { testid: "chart-executions" } });
  const latBox = h("div", { class: "chart-box" });
  const costBox = h("div", { class: "chart-box" });
  root.appendChild(
    h(
      "div",
      { class: "grid-2" },
      card(
        "Executions over time",
        legend(statusSeries),
        execBox,
      ),
      card(
        "Latency over time",
        legend([
          { label: "p50", color: "#6366f1" },
          { label: "p95", color: "#f97316" },
        ]),
        latBox,
      ),
    ),
  );
  root.appendChild(
    h(
      "div",
      { class: "grid-2" },
      card("LLM cost over time", legend([{ label: "cost (USD)", color: "#a855f7" }]), costBox),
      card("Top errors", topErrors(data.top_errors)),
    ),
  );
  const busiest = data.busiest_agents.map((a) => ({
    label: a.agent_name || "(no agent)",
    href: "#/executions?agent=" + encodeURIComponent(a.agent_name || ""),
    parts: [
      { value: a.ran - a.failed, color: STATUS_COLORS.success, label: "ran ok" },
      { value: a.failed, color: STATUS_COLORS.failed, label: "failed" },
    ],
    note: `${f.num(a.ran)} runs` + (a.failed ? ` · ${a.failed} failed` : ""),
  }));
  const slowest = data.slowest_agents.map((a) => ({
    label: a.agent_name || "(no agent)",
    href: "#/agents?agent=" + encodeURIComponent(a.agent_name || ""),
    parts: [{ value: a.p95_ms, color: "#f97316", label: "p95" }],
    marker: a.p50_ms,
    note: `p95 ${f.duration(a.p95_ms)} · p50 ${f.duration(a.p50_ms)}`,
  }));
  root.appendChild(
    h(
      "div",
      { class: "grid-2" },
      card("Busiest agents", hbars(busiest, { format: f.num })),
      card("Slowest agents (p95, with p50 marker)", hbars(slowest, { format: f.duration, marker: "p50" })),
    ),
  );
  if (items.length) {
    mount(
      execBox,
      bars({ items, series: statusSeries, xLabel: tLabel, title, yFormat: (v) => f.num(v) }),
    );
    mount(
      latBox,
      lines({
        items,
        series: [
          { key: "p50_ms", label: "p50", color: "#6366f1", points: true },
          { key: "p95_ms", label: "p95", color: "#f97316", points: true },
        ],
        xLabel: tLabel,
        title,
        yFormat: f.duration,
      }),
    );
    mount(
      costBox,
      lines({
        items,
        series: [{ key: "cost", label: "cost", color: "#a855f7", area: true }],
        xLabel: tLabel,
        title: (it) => `${title(it)} · ${f.num(it.llm_calls)} calls · ${f.compact(it.tokens)} tokens`,
        yFormat: f.money,
      }),
    );
  } else {
    execBox.appendChild(empty());
  }
}

function topErrors(rows) {
  return table(
    [
      { label: "Agent", cell: (r) => r.agent_name || "(no agent)" },
      { label: "Error", class: "nowrap", cell: (r) => h("span", { class: "err-type", title: r.error_type }, r.error_type.split(".").pop()) },
      { label: "Count", class: "num", cell: (r) => f.num(r.count) },
      { label: "Last seen", class: "nowrap", cell: (r) => f.ago(r.last_ms) },
      {
        label: "Latest",
        cell: (r) =>
          r.example_trace_id
            ? h("a", { href: traceHref(r.example_trace_id, r.example_span_id), title: r.message || "" }, f.truncate(r.message || "open trace", 70))
            : f.truncate(r.message, 70),
      },
    ],
    rows,
    { empty: "No failed executions in this range", testid: "top-errors" },
  );
}

function noData(ctx) {
  const btn = h("a", { class: "btn", href: "#/overview?range=all" }, "Show all time");
  return emptyState(
    ctx.range.key === "all"
      ? "No executions recorded yet. Run `tracehound demo` or instrument an agent, then come back."
      : "No executions in this time range.",
    ctx.range.key === "all" ? null : btn,
  );
}
