// Cost: tokens and cost by provider, model and agent, over time; calls whose price is
// unknown are flagged.

import { h, clear } from "../dom.js";
import * as f from "../format.js";
import { bars, mount, legend, colorFor } from "../charts.js";
import { pageHeader, card, kpi, kpis, table, traceHref, select, field, tag, emptyState } from "../ui.js";

const GROUPS = [
  ["model", "Model"],
  ["provider", "Provider"],
  ["agent_name", "Agent"],
];
const METRICS = [
  ["cost", "Cost (USD)"],
  ["tokens", "Tokens (input + output)"],
  ["input_tokens", "Input tokens"],
  ["output_tokens", "Output tokens"],
  ["calls", "Calls"],
];

export async function render(root, ctx) {
  const data = await ctx.api.get("cost", { from: ctx.range.from, to: ctx.range.to });
  root.appendChild(pageHeader("Cost", "LLM tokens and cost by provider, model and agent"));
  const t = data.totals;
  if (!t.calls) {
    root.appendChild(emptyState("No LLM calls in this time range."));
    return;
  }
  root.appendChild(
    kpis(
      kpi("Total cost", f.money(t.cost), { sub: t.unpriced_calls ? "priced calls only" : undefined, testid: "kpi-cost" }),
      kpi("LLM calls", f.num(t.calls)),
      kpi("Input tokens", f.compact(t.input_tokens)),
      kpi("Output tokens", f.compact(t.output_tokens)),
      kpi("Unpriced calls", f.num(t.unpriced_calls), {
        tone: t.unpriced_calls ? "warn" : "good",
        sub: t.unpriced_calls ? "price unknown: not in the total" : "every call priced",
        testid: "kpi-unpriced",
      }),
    ),
  );
  const state = { group: ctx.params.group || "model", metric: ctx.params.metric || "cost" };
  const chartBox = h("div", { class: "chart-box" });
  const legendBox = h("div");
  const groupSel = select(GROUPS, state.group, (v) => {
    state.group = v;
    ctx.setParams({ group: v });
    drawChart();
  }, { dataset: { testid: "cost-group" } });
  const metricSel = select(METRICS, state.metric, (v) => {
    state.metric = v;
    ctx.setParams({ metric: v });
    drawChart();
  });
  root.appendChild(
    card(
      "Over time",
      h("div", { class: "filters" }, field("Split by", groupSel), field("Show", metricSel)),
      legendBox,
      chartBox,
    ),
  );

  function drawChart() {
    const axis = data.axis;
    if (!axis) return;
    const value = (r) => (state.metric === "tokens" ? r.input_tokens + r.output_tokens : r[state.metric]);
    const totals = new Map();
    for (const r of data.series) totals.set(r[state.group], (totals.get(r[state.group]) || 0) + value(r));
    const keys = [...totals.entries()].sort((a, b) => b[1] - a[1]).map((e) => e[0]);
    const top = keys.slice(0, 9);
    const series = top.map((k, i) => ({ key: "k" + i, label: k, color: colorFor(i) }));
    if (keys.length > top.length) series.push({ key: "other", label: "other", color: "#94a3b8" });
    const idx = new Map(top.map((k, i) => [k, "k" + i]));
    const items = Array.from({ length: axis.buckets }, (_, i) => ({ t: axis.start_ms + i * axis.width_ms }));
    for (const r of data.series) {
      if (r.b < 0 || r.b >= items.length) continue;
      const key = idx.get(r[state.group]) || "other";
      items[r.b][key] = (items[r.b][key] || 0) + value(r);
    }
    const fmt = state.metric === "cost" ? f.money : f.compact;
    clear(legendBox).appendChild(legend(series));
    chartBox.dataset.drawn = "";
    clear(chartBox);
    mount(
      chartBox,
      bars({
        items,
        series,
        xLabel: (i, it) => f.axisTime(it.t, axis.width_ms),
        title: (it) => `${f.datetime(it.t)} (+${f.duration(axis.width_ms)})`,
        yFormat: fmt,
      }),
    );
  }
  drawChart();

  const cols = (key, label) => [
    { label, cell: (r) => (key === "model" && r.unpriced_calls ? h("span", null, r[key] + " ", tag("price unknown", "warn")) : r[key]) },
    ...(key === "model" ? [{ label: "Provider", cell: (r) => r.provider }] : []),
    { label: "Calls", class: "num", cell: (r) => f.num(r.calls) },
    { label: "Input tok", class: "num", cell: (r) => f.num(r.input_tokens) },
    { label: "Output tok", class: "num", cell: (r) => f.num(r.output_tokens) },
    { label: "Cost", class: "num", cell: (r) => (r.unpriced_calls && r.unpriced_calls === r.calls ? h("span", { class: "warn-text" }, "unknown") : f.money(r.cost)) },
    { label: "Unpriced", class: "num", cell: (r) => (r.unpriced_calls ? h("span", { class: "warn-text" }, f.num(r.unpriced_calls)) : "0") },
    { label: "Failed", class: "num", cell: (r) => f.num(r.failed_calls) },
  ];
  root.appendChild(
    h(
      "div",
      { class: "grid-2" },
      card("By model", table(cols("model", "Model"), data.by_model, { testid: "cost-by-model", rowClass: (r) => (r.unpriced_calls ? "warn-row" : "") })),
      card("By provider", table(cols("provider", "Provider"), data.by_provider, { testid: "cost-by-provider" })),
    ),
  );
  root.appendChild(card("By agent", table(cols("agent_name", "Agent"), data.by_agent, { testid: "cost-by-agent" })));
  root.appendChild(
    card(
      `Calls with unknown prices (${f.num(t.unpriced_calls)})`,
      data.unpriced.length
        ? h("p", { class: "muted" }, "No price is known for these models, so their cost is missing from the totals above. Add the model to the price table to count it.")
        : null,
      table(
        [
          { label: "Time", class: "nowrap", cell: (r) => f.datetime(r.start_ms).slice(5) },
          { label: "Agent", cell: (r) => r.agent_name || "" },
          { label: "Provider", cell: (r) => r.provider || "" },
          { label: "Model", cell: (r) => h("span", null, r.model || "", " ", tag("price unknown", "warn")) },
          { label: "Input tok", class: "num", cell: (r) => f.num(r.input_tokens) },
          { label: "Output tok", class: "num", cell: (r) => f.num(r.output_tokens) },
          { label: "Price source", cell: (r) => r.cost_source || "—" },
          { label: "", class: "nowrap", cell: (r) => h("a", { href: traceHref(r.trace_id, r.span_id) }, "trace") },
        ],
        data.unpriced,
        { testid: "unpriced-calls", empty: "Every call in this range has a known price" },
      ),
    ),
  );
}
