// Executions: a filterable, paginated list of spans (agent executions by default) that
// updates live as traces arrive.

import { h, clear } from "../dom.js";
import * as f from "../format.js";
import { pageHeader, table, statusBadge, kindBadge, traceHref, select, field, errorBox, tag } from "../ui.js";

const KINDS = [
  ["agent", "Agent executions"],
  ["root", "Traces (root spans)"],
  ["llm", "LLM calls"],
  ["tool", "Tool calls"],
  ["stage", "Stages"],
  ["operation", "Operations"],
  ["task", "Tasks"],
  ["all", "All spans"],
];
const STATUSES = [
  ["", "Any status"],
  ["success", "success"],
  ["error", "failed or timeout"],
  ["failed", "failed"],
  ["timeout", "timeout"],
  ["skipped", "skipped"],
  ["running", "running"],
];
const PAGE_SIZE = 50;

export async function render(root, ctx) {
  const meta = await ctx.api.get("meta");
  const state = {
    kind: ctx.params.kind ?? "agent",
    agent: ctx.params.agent || "",
    status: ctx.params.status || "",
    q: ctx.params.q || "",
    page: Math.max(1, Number(ctx.params.page) || 1),
  };
  let known = new Set();
  let loadSeq = 0;
  let pendingNew = false;

  const summary = h("div", { class: "list-summary", dataset: { testid: "list-summary" } });
  const banner = h("div", { class: "banner", hidden: true });
  const listBox = h("div", { class: "list-box" });
  const pager = h("div", { class: "pager" });

  const kindSel = select(KINDS, state.kind, (v) => update({ kind: v, page: 1 }), {
    dataset: { testid: "filter-kind" },
  });
  const agentSel = select(
    [["", "Any agent"], ...meta.agents.map((a) => [a, a])],
    state.agent,
    (v) => update({ agent: v, page: 1 }),
    { dataset: { testid: "filter-agent" } },
  );
  const statusSel = select(STATUSES, state.status, (v) => update({ status: v, page: 1 }), {
    dataset: { testid: "filter-status" },
  });
  const search = h("input", {
    type: "search",
    value: state.q,
    placeholder: "Search names, errors, inputs, outputs…",
    "aria-label": "Full-text search",
    dataset: { testid: "filter-q" },
  });
  let debounce = null;
  search.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => update({ q: search.value.trim(), page: 1 }), 300);
  });
  const clearBtn = h("button", { class: "btn small", type: "button" }, "Clear filters");
  clearBtn.addEventListener("click", () => {
    kindSel.value = "agent";
    agentSel.value = "";
    statusSel.value = "";
    search.value = "";
    update({ kind: "agent", agent: "", status: "", q: "", page: 1 });
  });

  root.append(
    pageHeader("Executions", "Every agent execution, LLM call and tool call — click one to open its trace"),
    h(
      "div",
      { class: "filters" },
      field("Show", kindSel),
      field("Agent", agentSel),
      field("Status", statusSel),
      h("label", { class: "field grow" }, h("span", { class: "field-label" }, "Search"), search),
      clearBtn,
    ),
    banner,
    summary,
    listBox,
    pager,
  );

  function update(partial) {
    Object.assign(state, partial);
    ctx.setParams({
      kind: state.kind === "agent" ? "" : state.kind,
      agent: state.agent,
      status: state.status,
      q: state.q,
      page: state.page > 1 ? state.page : "",
    });
    load(false);
  }

  async function load(live) {
    const seq = ++loadSeq;
    if (!live) listBox.classList.add("stale");
    let data;
    try {
      data = await ctx.api.get("spans", {
        kind: state.kind === "all" ? "" : state.kind,
        agent: state.agent,
        status: state.status,
        q: state.q,
        page: state.page,
        page_size: PAGE_SIZE,
        from: ctx.range.from,
        to: ctx.range.to,
      });
    } catch (err) {
      if (seq === loadSeq && ctx.alive()) {
        clear(listBox).appendChild(errorBox(err));
        listBox.classList.remove("stale");
      }
      return;
    }
    if (seq !== loadSeq || !ctx.alive()) return;
    listBox.classList.remove("stale");
    banner.hidden = true;
    pendingNew = false;
    const fresh = new Set(data.items.map((i) => i.id));
    const flash = live ? new Set([...fresh].filter((id) => !known.has(id))) : new Set();
    known = fresh;
    drawSummary(data);
    clear(listBox).appendChild(drawTable(data, flash));
    drawPager(data);
  }

  function drawSummary(data) {
    const kindLabel = (KINDS.find((k) => k[0] === state.kind) || KINDS[0])[1];
    const from = data.total ? (data.page - 1) * data.page_size + 1 : 0;
    const to = Math.min(data.total, data.page * data.page_size);
    clear(summary).append(
      h("strong", { dataset: { testid: "total" } }, f.num(data.total)),
      ` ${kindLabel.toLowerCase()} · showing ${f.num(from)}–${f.num(to)} · ${ctx.range.label.toLowerCase()}`,
    );
    summary.dataset.total = String(data.total);
  }

  function drawTable(data, flash) {
    const roots = state.kind === "root";
    const columns = [
      { label: "Started", class: "nowrap", cell: (r) => h("span", { title: f.datetime(r.start_ms) }, f.datetime(r.start_ms).slice(5)) },
      { label: "Status", cell: (r) => statusBadge(r.status) },
      { label: "Kind", cell: (r) => kindBadge(r.kind) },
      {
        label: "Name",
        cell: (r) => h("a", { href: traceHref(r.trace_id, r.id), class: "name-link", title: r.name }, f.truncate(r.name, 60)),
      },
      { label: "Agent", cell: (r) => r.agent_name || "" },
      { label: "Duration", class: "num", cell: (r) => f.duration(r.duration_ms) },
      { label: "Conversation", cell: (r) => r.conversation_id || "" },
    ];
    if (roots) {
      columns.push({
        label: "Spans",
        class: "num",
        cell: (r) =>
          h(
            "span",
            null,
            f.num(r.span_count),
            r.failed_spans ? h("span", { class: "fail-count", title: "failed spans" }, ` · ${r.failed_spans} failed`) : null,
          ),
      });
      columns.push({ label: "Cost", class: "num", cell: (r) => f.money(r.trace_cost) });
    } else {
      columns.push({
        label: "Details",
        cell: (r) => {
          if (r.error_type || (r.message && (r.status === "failed" || r.status === "timeout")))
            return h("span", { class: "err-text", title: r.message || "" }, (r.error_type ? r.error_type.split(".").pop() + ": " : "") + f.truncate(r.message || "", 90));
          if (r.status === "skipped") return h("span", { class: "muted", title: r.message || "" }, f.truncate(r.message || "skipped", 90));
          if (r.kind === "llm")
            return h(
              "span",
              null,
              `${r.model || ""} · ${f.compact(r.total_tokens)} tok · `,
              r.unpriced ? tag("price unknown", "warn") : f.money(r.total_cost),
            );
          return "";
        },
      });
    }
    return table(columns, data.items, {
      testid: "executions-table",
      empty: "Nothing matches these filters in this range",
      rowClass: (r) => "status-row-" + r.status + (flash.has(r.id) ? " flash" : ""),
      onRow: (r) => ctx.navigate(traceHref(r.trace_id, r.id)),
    });
  }

  function drawPager(data) {
    clear(pager);
    const pages = Math.max(1, Math.ceil(data.total / data.page_size));
    const prev = h("button", { class: "btn small", type: "button", disabled: data.page <= 1, dataset: { testid: "prev" } }, "← Newer");
    const next = h("button", { class: "btn small", type: "button", disabled: data.page >= pages, dataset: { testid: "next" } }, "Older →");
    prev.addEventListener("click", () => update({ page: data.page - 1 }));
    next.addEventListener("click", () => update({ page: data.page + 1 }));
    pager.append(prev, h("span", { class: "muted", dataset: { testid: "page" } }, `Page ${data.page} of ${pages}`), next);
  }

  ctx.onLive(() => {
    if (state.page === 1) {
      load(true);
    } else if (!pendingNew) {
      pendingNew = true;
      clear(banner).append(
        "New data arrived. ",
        h("button", { class: "btn small", type: "button", onclick: () => update({ page: 1 }) }, "Show newest"),
      );
      banner.hidden = false;
    }
  });

  await load(false);
  return () => clearTimeout(debounce);
}
