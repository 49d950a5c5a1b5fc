// Shared page pieces: cards, KPIs, badges, tables, selects, a JSON viewer.

import { h, clear } from "./dom.js";
import { enc } from "./api.js";

export const KIND_COLORS = {
  agent: "#6366f1",
  stage: "#0ea5e9",
  llm: "#a855f7",
  tool: "#f59e0b",
  operation: "#14b8a6",
  task: "#64748b",
};

export const STATUS_COLORS = {
  success: "#16a34a",
  failed: "#dc2626",
  timeout: "#ea580c",
  skipped: "#94a3b8",
  running: "#2563eb",
  pending: "#2563eb",
  cancelled: "#78716c",
};

export const LEVEL_COLORS = {
  DEBUG: "#94a3b8",
  INFO: "#0ea5e9",
  WARNING: "#f59e0b",
  ERROR: "#dc2626",
  CRITICAL: "#7f1d1d",
};

export function kindColor(kind) {
  return KIND_COLORS[kind] || "#64748b";
}

export function pageHeader(title, subtitle, ...actions) {
  return h(
    "div",
    { class: "page-header" },
    h("div", null, h("h1", null, title), subtitle ? h("p", { class: "subtitle" }, subtitle) : null),
    h("div", { class: "page-actions" }, actions),
  );
}

export function card(title, ...children) {
  return h(
    "section",
    { class: "card" },
    title ? h("h2", { class: "card-title" }, title) : null,
    children,
  );
}

export function kpi(label, value, { sub, tone, testid } = {}) {
  return h(
    "div",
    { class: "kpi" + (tone ? " tone-" + tone : ""), dataset: testid ? { testid } : undefined },
    h("div", { class: "kpi-label" }, label),
    h("div", { class: "kpi-value" }, value),
    sub ? h("div", { class: "kpi-sub" }, sub) : null,
  );
}

export function kpis(...items) {
  return h("div", { class: "kpis" }, items);
}

export function statusBadge(status) {
  const st = status || "unknown";
  return h("span", { class: "badge status-" + st.replace(/[^a-z]/g, "") }, st);
}

export function kindBadge(kind) {
  const k = kind || "span";
  return h(
    "span",
    { class: "badge kind", style: { "border-color": kindColor(k), color: kindColor(k) } },
    k,
  );
}

export function levelBadge(level) {
  const l = level || "INFO";
  return h(
    "span",
    { class: "badge level", style: { background: LEVEL_COLORS[l] || "#64748b" } },
    l,
  );
}

export function tag(textValue, cls = "") {
  return h("span", { class: "tag " + cls }, textValue);
}

export function traceHref(traceId, spanId) {
  return "#/trace/" + enc(traceId) + (spanId ? "?span=" + enc(spanId) : "");
}

export function loading(message = "Loading…") {
  return h("div", { class: "loading" }, h("span", { class: "spinner" }), message);
}

export function errorBox(err) {
  const status = err && err.status ? ` (${err.status})` : "";
  return h(
    "div",
    { class: "error-box", role: "alert" },
    h("strong", null, "Could not load this view" + status + ": "),
    err && err.message ? err.message : String(err),
  );
}

export function emptyState(message, ...extra) {
  return h("div", { class: "empty-state" }, h("p", null, message), extra);
}

/** A table: columns [{label, cell(row) → node|string, class, title}], rows. */
export function table(columns, rows, { onRow, rowClass, rowId, testid, empty = "Nothing to show" } = {}) {
  const thead = h(
    "thead",
    null,
    h(
      "tr",
      null,
      columns.map((c) => h("th", { class: c.class, title: c.title }, c.label)),
    ),
  );
  const tbody = h("tbody");
  for (const row of rows) {
    const tr = h(
      "tr",
      { class: rowClass ? rowClass(row) : undefined, dataset: rowId ? { id: rowId(row) } : undefined },
      columns.map((c) => {
        const v = c.cell(row);
        return h("td", { class: c.class }, v === undefined || v === null ? "" : v);
      }),
    );
    if (onRow) {
      tr.classList.add("clickable");
      tr.addEventListener("click", (e) => {
        if (e.target.closest("a")) return;
        onRow(row, e);
      });
    }
    tbody.appendChild(tr);
  }
  const el = h(
    "div",
    { class: "table-wrap" },
    h("table", { class: "data", dataset: testid ? { testid } : undefined }, thead, tbody),
  );
  if (!rows.length) el.appendChild(h("div", { class: "table-empty" }, empty));
  return el;
}

export function select(options, value, onChange, attrs = {}) {
  const el = h(
    "select",
    attrs,
    options.map(([v, label]) => h("option", { value: v, selected: String(v) === String(value ?? "") }, label)),
  );
  el.addEventListener("change", () => onChange(el.value));
  return el;
}

export function field(label, control) {
  return h("label", { class: "field" }, h("span", { class: "field-label" }, label), control);
}

// -- JSON viewer -----------------------------------------------------------------------------

const MAX_CHILDREN = 300;

function jsonNode(value, depth, openDepth) {
  if (value === null) return h("span", { class: "j-null" }, "null");
  const t = typeof value;
  if (t === "string") {
    const long = value.length > 120 || value.includes("\n");
    const shown = value.length > 20000 ? value.slice(0, 20000) + "…" : value;
    return h("span", { class: "j-str" + (long ? " j-long" : "") }, '"' + shown + '"');
  }
  if (t === "number") return h("span", { class: "j-num" }, String(value));
  if (t === "boolean") return h("span", { class: "j-bool" }, String(value));
  const isArr = Array.isArray(value);
  const keys = isArr ? value.map((_, i) => i) : Object.keys(value);
  if (!keys.length) return h("span", { class: "j-punct" }, isArr ? "[]" : "{}");
  const details = h("details", { class: "j-node", open: depth < openDepth });
  const summaryText = isArr ? `[ ${keys.length} item${keys.length === 1 ? "" : "s"} ]` : `{ ${keys.length} key${keys.length === 1 ? "" : "s"} }`;
  details.appendChild(h("summary", { class: "j-punct" }, summaryText));
  const body = h("div", { class: "j-children" });
  for (const k of keys.slice(0, MAX_CHILDREN)) {
    body.appendChild(
      h(
        "div",
        { class: "j-row" },
        h("span", { class: isArr ? "j-idx" : "j-key" }, String(k)),
        h("span", { class: "j-punct" }, ": "),
        jsonNode(value[k], depth + 1, openDepth),
      ),
    );
  }
  if (keys.length > MAX_CHILDREN) {
    body.appendChild(h("div", { class: "j-more" }, `… ${keys.length - MAX_CHILDREN} more`));
  }
  details.appendChild(body);
  return details;
}

/** A collapsible view of a JSON value (open to `openDepth` levels). */
export function jsonView(value, { openDepth = 2 } = {}) {
  return h("div", { class: "json" }, jsonNode(value, 0, openDepth));
}

export function pre(textValue, cls = "") {
  return h("pre", { class: "pre " + cls }, textValue === undefined || textValue === null ? "" : String(textValue));
}

export function copyButton(getText, label = "Copy") {
  const btn = h("button", { class: "btn small", type: "button" }, label);
  btn.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(getText());
      btn.textContent = "Copied";
    } catch {
      btn.textContent = "Copy failed";
    }
    setTimeout(() => (btn.textContent = label), 1200);
  });
  return btn;
}

export function setContent(root, ...children) {
  clear(root);
  for (const c of children) if (c) root.appendChild(c);
}
