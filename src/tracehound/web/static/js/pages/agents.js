// Agents: per-agent performance, and "why didn't this agent fire?" for a conversation, with
// every agent's relevance score and skip reason.

import { h, clear } from "../dom.js";
import * as f from "../format.js";
import { hbars, sparkline } from "../charts.js";
import {
  pageHeader,
  card,
  table,
  statusBadge,
  traceHref,
  select,
  field,
  errorBox,
  loading,
  emptyState,
  STATUS_COLORS,
} from "../ui.js";

export async function render(root, ctx) {
  const params = { from: ctx.range.from, to: ctx.range.to };
  const [data, conversations] = await Promise.all([
    ctx.api.get("agents", params),
    ctx.api.get("conversations", params),
  ]);
  root.appendChild(pageHeader("Agents", "Per-agent performance, and why an agent did or did not fire"));
  if (!data.agents.length) {
    root.appendChild(emptyState("No agent executions in this time range."));
    return;
  }
  const focus = ctx.params.agent || "";
  root.appendChild(
    card(
      "Performance",
      table(
        [
          {
            label: "Agent",
            cell: (a) => h("a", { href: "#/executions?agent=" + encodeURIComponent(a.agent_name || "") }, a.agent_name || "(no agent)"),
          },
          { label: "Invoked", class: "num", cell: (a) => f.num(a.invocations) },
          { label: "Ran", class: "num", cell: (a) => f.num(a.ran) },
          { label: "Success", class: "num", cell: (a) => f.pct(a.success_rate) },
          { label: "Failed", class: "num", cell: (a) => (a.failed ? h("span", { class: "err-text" }, f.num(a.failed)) : "0") },
          { label: "Skipped", class: "num", cell: (a) => `${f.num(a.skipped)} (${f.pct(a.skip_rate, 0)})` },
          { label: "p50", class: "num", cell: (a) => f.duration(a.p50_ms) },
          { label: "p95", class: "num", cell: (a) => f.duration(a.p95_ms) },
          { label: "LLM calls", class: "num", cell: (a) => f.num(a.llm_calls) },
          { label: "Tokens", class: "num", cell: (a) => f.compact(a.tokens) },
          { label: "Cost", class: "num", cell: (a) => f.money(a.cost) },
          {
            label: "Errors",
            cell: (a) =>
              a.errors.length
                ? h("span", { class: "err-text" }, a.errors.map((e) => `${e.error_type.split(".").pop()} ×${e.count}`).join(", "))
                : "",
          },
          {
            label: "Activity",
            cell: (a) => sparkline(a.series, { marks: a.failure_series, color: "#6366f1" }),
          },
        ],
        data.agents,
        { testid: "agents-table", rowClass: (a) => (a.agent_name === focus ? "highlight" : "") },
      ),
    ),
  );
  const outcome = data.agents
    .filter((a) => a.invocations)
    .map((a) => ({
      label: a.agent_name || "(no agent)",
      href: "#/executions?agent=" + encodeURIComponent(a.agent_name || ""),
      parts: [
        { value: a.success, color: STATUS_COLORS.success, label: "success" },
        { value: a.failed, color: STATUS_COLORS.failed, label: "failed" },
        { value: a.skipped, color: STATUS_COLORS.skipped, label: "skipped" },
      ],
      note: `${a.success} ok · ${a.failed} failed · ${a.skipped} skipped`,
    }));
  root.appendChild(card("Outcomes per agent", hbars(outcome, { format: f.num })));

  // -- why didn't it fire ---------------------------------------------------------------------
  const agents = data.agents.map((a) => a.agent_name).filter(Boolean);
  const state = {
    agent: ctx.params.agent || agents.find((a) => a !== "planner") || agents[0],
    conversation: ctx.params.conversation || (conversations[0] && conversations[0].conversation_id) || "",
  };
  const agentSel = select(agents.map((a) => [a, a]), state.agent, (v) => ask({ agent: v }), {
    dataset: { testid: "why-agent" },
  });
  const convSel = select(
    [["", "Any conversation"], ...conversations.map((c) => [c.conversation_id, `${c.conversation_id} · ${c.invocations} invoked, ${c.skipped} skipped${c.failed ? `, ${c.failed} failed` : ""}`])],
    state.conversation,
    (v) => ask({ conversation: v }),
    { dataset: { testid: "why-conversation" } },
  );
  const answerBox = h("div", { class: "why-answer", dataset: { testid: "why-answer" } });
  root.appendChild(
    card(
      "Why didn't this agent fire?",
      h("div", { class: "filters" }, field("Agent", agentSel), field("Conversation", convSel)),
      answerBox,
    ),
  );
  let seq = 0;
  async function ask(partial) {
    Object.assign(state, partial);
    ctx.setParams({ agent: state.agent, conversation: state.conversation });
    const mine = ++seq;
    clear(answerBox).appendChild(loading());
    let why;
    try {
      why = await ctx.api.get("why", { agent: state.agent, conversation: state.conversation });
    } catch (err) {
      if (mine === seq) clear(answerBox).appendChild(errorBox(err));
      return;
    }
    if (mine !== seq || !ctx.alive()) return;
    clear(answerBox).append(...whyView(why, state));
  }
  if (state.agent) await ask({});
}

function whyView(why, state) {
  const a = why.answer;
  const tone = { fired: "good", skipped: "warn", failed: "bad", never_invoked: "muted", running: "info" }[a.status] || "muted";
  const out = [
    h(
      "div",
      { class: "why-headline tone-" + tone },
      h("span", { class: "why-status" }, a.status.replace("_", " ")),
      h("span", { class: "why-message" }, a.message),
    ),
  ];
  if (why.decisions.length) {
    const rel = why.decisions.filter((d) => d.relevance_score !== null && d.relevance_score !== undefined);
    if (rel.length) {
      const rows = rel.map((d) => ({
        label: d.agent_name,
        parts: [
          {
            value: d.relevance_score,
            color: d.status === "skipped" ? STATUS_COLORS.skipped : FAILEDS.has(d.status) ? STATUS_COLORS.failed : STATUS_COLORS.success,
            label: d.status,
          },
        ],
        note: `${d.relevance_score.toFixed(2)} · ${d.status}`,
      }));
      out.push(
        h("h4", null, "Relevance scores in this conversation" + (why.threshold !== null ? ` (threshold ${why.threshold})` : "")),
        hbars(rows, { format: (v) => Number(v).toFixed(2), max: 1 }),
      );
      if (why.threshold !== null) {
        // draw the threshold as a marker on each row
        out[out.length - 1].querySelectorAll(".hbar-track").forEach((track) => {
          track.appendChild(h("div", { class: "hbar-marker threshold", style: { left: why.threshold * 100 + "%" }, title: "threshold " + why.threshold }));
        });
      }
    }
    out.push(
      h("h4", null, `Every agent in ${state.conversation || "the conversation"}`),
      table(
        [
          { label: "Agent", cell: (d) => h("a", { href: traceHref(d.trace_id, d.span_id) }, d.agent_name || d.name) },
          { label: "Status", cell: (d) => statusBadge(d.status) },
          { label: "Relevance", class: "num", cell: (d) => (d.relevance_score === null || d.relevance_score === undefined ? "—" : d.relevance_score.toFixed(2)) },
          { label: "Skip reason / reasoning", cell: (d) => d.reasoning || "" },
          { label: "Why it was called", cell: (d) => h("span", { class: "muted" }, d.call_reason || (d.is_root ? "(entry point)" : "")) },
          {
            label: "Error",
            cell: (d) => (d.error_type ? h("span", { class: "err-text", title: d.error_message || "" }, d.error_type.split(".").pop() + ": " + f.truncate(d.error_message || "", 80)) : ""),
          },
        ],
        why.decisions,
        { testid: "why-decisions", rowClass: (d) => (d.agent_name === state.agent ? "highlight" : "") },
      ),
    );
  } else if (a.executions && a.executions.length) {
    out.push(
      table(
        [
          { label: "Execution", cell: (e) => e.execution_id },
          { label: "Status", cell: (e) => statusBadge(e.status) },
          { label: "Relevance", class: "num", cell: (e) => (e.relevance_score === null || e.relevance_score === undefined ? "—" : Number(e.relevance_score).toFixed(2)) },
          { label: "Reasoning", cell: (e) => e.relevance_reasoning || "" },
          { label: "Conversation", cell: (e) => e.conversation_id || "" },
        ],
        a.executions,
      ),
    );
  }
  return out;
}

const FAILEDS = new Set(["failed", "timeout"]);
