// Trace view: the span tree side by side with a waterfall timeline (events as markers),
// a details panel (input/output JSON, LLM prompt and response, tokens, cost, error and
// traceback, what came before a failure), collapse/expand, and the agent call chain.
// Rows are virtualized: only the visible ones exist in the DOM, so 10k-span traces stay fast.

import { h, clear } from "../dom.js";
import * as f from "../format.js";
import {
  pageHeader,
  card,
  kpi,
  kpis,
  statusBadge,
  kindBadge,
  levelBadge,
  kindColor,
  jsonView,
  pre,
  tag,
  errorBox,
  loading,
  copyButton,
  STATUS_COLORS,
  LEVEL_COLORS,
} from "../ui.js";

const ROW_H = 26;
const OVERSCAN = 12;
const MAX_MARKERS = 120;
const FAILED = new Set(["failed", "timeout"]);

export async function render(root, ctx) {
  const traceId = ctx.arg;
  if (!traceId) throw new Error("No trace id in the address");
  const data = await ctx.api.get("traces/" + ctx.api.enc(traceId));
  const model = buildModel(data);
  const view = new TraceView(root, ctx, data, model);
  view.mount();
  return () => view.destroy();
}

function buildModel(data) {
  const F = Object.fromEntries(data.span_fields.map((n, i) => [n, i]));
  const E = Object.fromEntries(data.event_fields.map((n, i) => [n, i]));
  const spans = data.spans.map((r, index) => ({
    index,
    id: r[F.id],
    parent: r[F.parent_id],
    kind: r[F.kind],
    name: r[F.name],
    status: r[F.status],
    off: r[F.offset_ms],
    dur: r[F.duration_ms],
    agent: r[F.agent_name],
    err: r[F.error_type],
    model: r[F.model],
    tokens: r[F.total_tokens],
    cost: r[F.total_cost],
    open: r[F.open],
    children: [],
    events: [],
    depth: 0,
  }));
  const byId = new Map(spans.map((sp) => [sp.id, sp]));
  const roots = [];
  for (const sp of spans) {
    const p = sp.parent ? byId.get(sp.parent) : null;
    if (p && p !== sp) p.children.push(sp);
    else roots.push(sp);
  }
  const events = data.events.map((r) => ({
    id: r[E.id],
    span: r[E.span_id],
    type: r[E.type],
    name: r[E.name],
    level: r[E.level],
    off: r[E.offset_ms],
    agent: r[E.agent_name],
    message: r[E.message],
  }));
  for (const ev of events) {
    const sp = (ev.span && byId.get(ev.span)) || roots[0];
    if (sp) sp.events.push(ev);
  }
  const byOff = (a, b) => a.off - b.off || a.index - b.index;
  roots.sort(byOff);
  // depth (iterative: deep traces must not overflow the stack)
  const stack = roots.map((r) => [r, 0]);
  while (stack.length) {
    const [sp, d] = stack.pop();
    sp.depth = d;
    sp.children.sort(byOff);
    for (const c of sp.children) stack.push([c, d + 1]);
  }
  return { spans, byId, roots, events, total: Math.max(data.duration_ms, 1e-6) };
}

class TraceView {
  constructor(root, ctx, data, model) {
    this.root = root;
    this.ctx = ctx;
    this.data = data;
    this.model = model;
    this.collapsed = new Set();
    this.flat = [];
    this.selected = null;
    this.detailCache = new Map();
    this.detailSeq = 0;
    this.raf = 0;
    this.onlyFailed = false;
  }

  mount() {
    const { data, model } = this;
    const t = data.totals;
    const root = data.root || {};
    const title = root.name ? `${root.name}` : "Trace";
    this.root.append(
      pageHeader(
        title,
        `Trace ${data.trace_id} · started ${f.datetime(data.start_ms)}` +
          (root.conversation_id ? ` · conversation ${root.conversation_id}` : ""),
        copyButton(() => data.trace_id, "Copy trace id"),
        h("a", { class: "btn small", href: "#/executions?kind=all&q=" + encodeURIComponent(data.trace_id) }, "List spans"),
      ),
      kpis(
        kpi("Duration", f.duration(data.duration_ms)),
        kpi("Spans", f.num(t.spans), { sub: `${f.num(t.events)} events`, testid: "trace-spans" }),
        kpi("Failed spans", f.num(t.failed), { tone: t.failed ? "bad" : "good" }),
        kpi("LLM calls", f.num(t.llm_calls), { sub: `${f.compact(t.tokens)} tokens` }),
        kpi("Cost", f.money(t.cost)),
        kpi("Root status", root.status || "—", { tone: FAILED.has(root.status) ? "bad" : undefined }),
      ),
    );
    if (t.truncated) {
      this.root.appendChild(h("div", { class: "banner" }, "This trace is larger than the view's limit; only the first records are shown."));
    }
    const failures = model.spans.filter((sp) => FAILED.has(sp.status));
    const agentFailures = failures.filter((sp) => sp.kind === "agent");
    const topRow = h("div", { class: "grid-2 trace-top" });
    if (data.call_chain.length) topRow.appendChild(card("Call chain", this.callChain(data.call_chain)));
    if (failures.length) {
      const others = failures.filter((sp) => sp.kind !== "agent");
      topRow.appendChild(card("Failures in this trace", this.failureList([...agentFailures, ...others])));
    }
    if (topRow.childNodes.length) this.root.appendChild(topRow);

    // toolbar
    const expand = h("button", { class: "btn small", type: "button" }, "Expand all");
    const collapse = h("button", { class: "btn small", type: "button" }, "Collapse all");
    const toAgents = h("button", { class: "btn small", type: "button", title: "Show agents only: collapse everything below agent spans" }, "Agents only");
    const firstErr = h("button", { class: "btn small", type: "button", disabled: !failures.length }, "First failure");
    expand.addEventListener("click", () => {
      this.collapsed.clear();
      this.refresh();
    });
    collapse.addEventListener("click", () => {
      this.collapsed = new Set(model.spans.filter((sp) => sp.children.length && sp.depth >= 0).map((sp) => sp.id));
      for (const r of model.roots) this.collapsed.delete(r.id);
      this.refresh();
    });
    toAgents.addEventListener("click", () => {
      this.collapsed = new Set(model.spans.filter((sp) => sp.kind === "agent" && sp.parent && sp.children.length).map((sp) => sp.id));
      this.refresh();
    });
    firstErr.addEventListener("click", () => {
      const first = [...failures].sort((a, b) => a.off + (a.dur || 0) - (b.off + (b.dur || 0)))[0];
      if (first) this.select(first.id, true);
    });
    const legendEl = h(
      "div",
      { class: "tv-legend" },
      ["agent", "stage", "llm", "tool", "operation", "task"].map((k) =>
        h("span", { class: "legend-item" }, h("span", { class: "swatch", style: { background: kindColor(k) } }), k),
      ),
      h("span", { class: "legend-item" }, h("span", { class: "swatch", style: { background: STATUS_COLORS.failed } }), "failed"),
      h("span", { class: "legend-item" }, h("span", { class: "ev-diamond" }), "event"),
    );

    // the tree + waterfall
    this.axis = h("div", { class: "tv-axis" });
    this.spacer = h("div", { class: "tv-spacer" });
    this.scroller = h(
      "div",
      {
        class: "tv-scroll",
        tabindex: "0",
        role: "tree",
        "aria-label": "Spans of the trace",
        dataset: { testid: "waterfall", spans: String(model.spans.length) },
      },
      this.spacer,
    );
    this.scroller.addEventListener("scroll", () => this.schedule(), { passive: true });
    this.scroller.addEventListener("keydown", (e) => this.onKey(e));
    this.details = h("aside", { class: "tv-details", dataset: { testid: "details" } }, h("p", { class: "muted" }, "Select a span to see its input, output, LLM call, error and events."));
    const main = h(
      "div",
      { class: "tv-main" },
      h("div", { class: "tv-toolbar" }, expand, collapse, toAgents, firstErr, legendEl),
      h("div", { class: "tv-head" }, h("div", { class: "tv-head-name" }, "Span"), this.axis),
      this.scroller,
    );
    this.root.appendChild(h("div", { class: "tv-split" }, main, this.details));
    this.drawAxis();
    this.refresh();
    const wanted = this.ctx.params.span;
    const initial = (wanted && model.byId.get(wanted)) || null;
    if (initial) this.select(initial.id, true);
    else if (model.roots[0]) this.select(model.roots[0].id, false);
    this.resizeHandler = () => this.schedule();
    window.addEventListener("resize", this.resizeHandler);
  }

  destroy() {
    cancelAnimationFrame(this.raf);
    window.removeEventListener("resize", this.resizeHandler);
  }

  // -- tree ---------------------------------------------------------------------------------
  flatten() {
    const out = [];
    const stack = [...this.model.roots].reverse();
    while (stack.length) {
      const sp = stack.pop();
      out.push(sp);
      if (!this.collapsed.has(sp.id)) {
        for (let i = sp.children.length - 1; i >= 0; i--) stack.push(sp.children[i]);
      }
    }
    return out;
  }

  refresh() {
    this.flat = this.flatten();
    this.rowOf = new Map(this.flat.map((sp, i) => [sp.id, i]));
    this.spacer.style.height = this.flat.length * ROW_H + "px";
    // as tall as the rows need, up to the window (a small trace leaves no empty box)
    const room = Math.max(200, window.innerHeight - 250);
    this.scroller.style.height = Math.min(room, this.flat.length * ROW_H + 2) + "px";
    this.scroller.dataset.rows = String(this.flat.length);
    this.draw();
  }

  schedule() {
    if (this.raf) return;
    this.raf = requestAnimationFrame(() => {
      this.raf = 0;
      this.draw();
    });
  }

  draw() {
    const top = this.scroller.scrollTop;
    const height = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    const last = Math.min(this.flat.length, Math.ceil((top + height) / ROW_H) + OVERSCAN);
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) frag.appendChild(this.row(this.flat[i], i));
    clear(this.spacer);
    this.spacer.appendChild(frag);
    this.scroller.dataset.first = String(first);
    this.scroller.dataset.last = String(last);
  }

  row(sp, i) {
    const total = this.model.total;
    const selected = this.selected === sp.id;
    const failed = FAILED.has(sp.status);
    const row = h("div", {
      class: "tv-row" + (selected ? " selected" : "") + (failed ? " failed" : "") + (sp.status === "skipped" ? " skipped" : ""),
      role: "treeitem",
      "aria-selected": selected ? "true" : "false",
      "aria-level": String(sp.depth + 1),
      "aria-expanded": sp.children.length ? String(!this.collapsed.has(sp.id)) : undefined,
      dataset: { spanId: sp.id, kind: sp.kind, status: sp.status },
    });
    row.style.transform = `translateY(${i * ROW_H}px)`;
    const toggle = sp.children.length
      ? h(
          "button",
          { class: "tv-toggle", type: "button", "aria-label": this.collapsed.has(sp.id) ? "Expand" : "Collapse", tabindex: "-1" },
          this.collapsed.has(sp.id) ? "▸" : "▾",
        )
      : h("span", { class: "tv-toggle blank" });
    if (sp.children.length) {
      toggle.addEventListener("click", (e) => {
        e.stopPropagation();
        this.toggle(sp.id);
      });
    }
    const name = h(
      "div",
      { class: "tv-name", style: { "padding-left": 4 + sp.depth * 14 + "px" } },
      toggle,
      h("span", { class: "kind-dot", style: { background: kindColor(sp.kind) }, title: sp.kind }),
      h("span", { class: "tv-label", title: sp.name }, sp.name),
      sp.kind === "agent" && sp.agent && sp.agent !== sp.name ? h("span", { class: "tv-agent" }, sp.agent) : null,
      failed ? h("span", { class: "tv-flag fail", title: sp.err || sp.status }, "✕ " + (sp.err ? sp.err.split(".").pop() : sp.status)) : null,
      sp.status === "skipped" ? h("span", { class: "tv-flag skip" }, "skipped") : null,
      sp.children.length && this.collapsed.has(sp.id) ? h("span", { class: "tv-count" }, `+${countBelow(sp)}`) : null,
    );
    const left = (100 * sp.off) / total;
    const dur = sp.dur === null || sp.dur === undefined ? total - sp.off : sp.dur;
    const width = Math.max(0.15, (100 * dur) / total);
    const bar = h("div", {
      class: "tv-bar" + (failed ? " failed" : "") + (sp.status === "skipped" ? " skipped" : "") + (sp.open ? " open" : ""),
      style: { left: left + "%", width: Math.min(width, 100 - left + 0.15) + "%", background: failed ? STATUS_COLORS.failed : kindColor(sp.kind) },
      title: `${sp.name}: ${f.duration(sp.dur)} at +${f.duration(sp.off)}`,
    });
    const end = left + width;
    const place = end <= 86 ? { left: end + 0.5 + "%" } : left >= 14 ? { right: 100 - left + 0.5 + "%" } : { right: Math.max(0, 100 - end) + 0.6 + "%" };
    const label = h("span", { class: "tv-dur" + (end > 86 && left < 14 ? " inside" : ""), style: place }, f.duration(sp.dur));
    const cell = h("div", { class: "tv-bars" }, bar, label);
    const evs = sp.events.length > MAX_MARKERS ? sp.events.slice(0, MAX_MARKERS) : sp.events;
    for (const ev of evs) {
      cell.appendChild(
        h("span", {
          class: "tv-ev",
          style: { left: (100 * ev.off) / total + "%", background: LEVEL_COLORS[ev.level] || "#64748b" },
          title: `${ev.type} ${ev.name} (+${f.duration(ev.off)}): ${ev.message || ""}`,
        }),
      );
    }
    row.append(name, cell);
    row.addEventListener("click", () => this.select(sp.id, false));
    return row;
  }

  toggle(id) {
    if (this.collapsed.has(id)) this.collapsed.delete(id);
    else this.collapsed.add(id);
    this.refresh();
  }

  reveal(id) {
    let sp = this.model.byId.get(id);
    let changed = false;
    while (sp && sp.parent) {
      const p = this.model.byId.get(sp.parent);
      if (!p) break;
      if (this.collapsed.delete(p.id)) changed = true;
      sp = p;
    }
    if (changed) this.refresh();
  }

  select(id, scroll) {
    if (!this.model.byId.has(id)) return;
    this.reveal(id);
    this.selected = id;
    this.ctx.setParams({ span: id });
    if (scroll) {
      const i = this.rowOf.get(id) ?? 0;
      const h0 = this.scroller.clientHeight || 600;
      const top = i * ROW_H;
      if (top < this.scroller.scrollTop || top > this.scroller.scrollTop + h0 - ROW_H) {
        this.scroller.scrollTop = Math.max(0, top - h0 / 3);
      }
    }
    this.draw();
    this.showDetails(id);
  }

  onKey(e) {
    if (!this.selected) return;
    const i = this.rowOf.get(this.selected) ?? 0;
    const sp = this.model.byId.get(this.selected);
    if (e.key === "ArrowDown" && i + 1 < this.flat.length) this.select(this.flat[i + 1].id, true);
    else if (e.key === "ArrowUp" && i > 0) this.select(this.flat[i - 1].id, true);
    else if (e.key === "ArrowLeft" && sp.children.length && !this.collapsed.has(sp.id)) this.toggle(sp.id);
    else if (e.key === "ArrowRight" && sp.children.length && this.collapsed.has(sp.id)) this.toggle(sp.id);
    else return;
    e.preventDefault();
  }

  drawAxis() {
    clear(this.axis);
    const total = this.model.total;
    for (let k = 0; k <= 4; k++) {
      const x = (100 * k) / 4;
      this.axis.appendChild(
        h("span", { class: "tv-tick", style: k === 4 ? { right: "0" } : { left: x + "%" } }, f.duration((total * k) / 4)),
      );
    }
  }

  // -- call chain and failures ----------------------------------------------------------------
  callChain(links) {
    const list = h("ol", { class: "chain", dataset: { testid: "call-chain" } });
    for (const l of links) {
      const a = h(
        "a",
        { href: "#", class: "chain-link" },
        h("span", { class: "muted" }, (l.parent_agent || "?") + " → "),
        h("strong", null, l.child_agent || l.child_name),
      );
      a.addEventListener("click", (e) => {
        e.preventDefault();
        this.select(l.child_id, true);
      });
      list.appendChild(
        h(
          "li",
          { style: { "padding-left": l.depth * 16 + "px" } },
          a,
          " ",
          statusBadge(l.status),
          l.relevance_score !== null && l.relevance_score !== undefined ? h("span", { class: "muted" }, ` relevance ${l.relevance_score.toFixed(2)}`) : null,
          l.error_type ? h("span", { class: "err-text" }, " " + l.error_type.split(".").pop()) : null,
          l.call_reason ? h("div", { class: "chain-reason" }, l.call_reason) : null,
        ),
      );
    }
    return list;
  }

  failureList(spans) {
    const list = h("ul", { class: "failures", dataset: { testid: "failures" } });
    for (const sp of spans.slice(0, 20)) {
      const a = h(
        "a",
        { href: "#", class: "err-text" + (sp.kind === "agent" ? " strong" : "") },
        `${sp.agent || sp.name} — ${sp.err ? sp.err.split(".").pop() : sp.status}`,
      );
      a.addEventListener("click", (e) => {
        e.preventDefault();
        this.select(sp.id, true);
      });
      list.appendChild(
        h("li", null, a, h("span", { class: "muted" }, ` in ${sp.kind} ${sp.name} at +${f.duration(sp.off + (sp.dur || 0))}`)),
      );
    }
    return list;
  }

  // -- details --------------------------------------------------------------------------------
  async showDetails(id) {
    const seq = ++this.detailSeq;
    const sp = this.model.byId.get(id);
    let detail = this.detailCache.get(id);
    if (!detail) {
      clear(this.details).appendChild(loading());
      try {
        detail = await this.ctx.api.get("spans/" + this.ctx.api.enc(id));
      } catch (err) {
        if (seq === this.detailSeq) clear(this.details).appendChild(errorBox(err));
        return;
      }
      this.detailCache.set(id, detail);
    }
    if (seq !== this.detailSeq || !this.ctx.alive()) return;
    clear(this.details);
    this.details.dataset.spanId = id;
    this.details.append(...this.detailSections(sp, detail));
    this.details.scrollTop = 0;
  }

  detailSections(sp, d) {
    const out = [];
    const attrs = d.attributes || {};
    out.push(
      h(
        "div",
        { class: "dt-head" },
        h("div", null, kindBadge(d.kind), " ", statusBadge(d.status)),
        h("h3", { class: "dt-title" }, d.name),
        d.agent_name ? h("div", { class: "muted" }, "agent ", h("strong", null, d.agent_name), d.agent_role ? ` (${d.agent_role})` : "") : null,
      ),
    );
    const facts = [
      ["Started", f.datetime(d.start_ms)],
      ["Offset", "+" + f.duration(sp.off)],
      ["Duration", d.end_ms === null ? "still running" : f.duration(d.duration_ms)],
      ["Span id", d.id],
      ["Parent", d.parent_id || "—"],
      ["Conversation", d.conversation_id],
      ["User", d.user_id],
      ["Session", d.session_id],
      ["Project", d.project],
    ].filter(([, v]) => v !== null && v !== undefined && v !== "");
    if (d.kind !== "llm" && sp.children.length) {
      const inside = llmInside(sp);
      if (inside.calls) {
        const calls = `${f.num(inside.calls)} call${inside.calls === 1 ? "" : "s"}`;
        facts.push(["LLM inside", `${calls} · ${f.compact(inside.tokens)} tokens · ${f.money(inside.cost)}`]);
      }
    }
    out.push(h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", null, k), h("dd", null, v)])));

    const chain = this.data.call_chain.find((l) => l.child_id === d.id);
    if (chain && chain.call_reason) {
      out.push(section("Why it was called", h("p", null, h("strong", null, chain.parent_agent || "?"), " called it: ", chain.call_reason)));
    }
    if (FAILED.has(d.status)) out.push(this.errorSection(sp, d));
    if (d.status === "skipped" || attrs.relevance_score !== undefined) {
      const score = attrs.relevance_score;
      out.push(
        section(
          d.status === "skipped" ? "Skipped: relevance check" : "Relevance check",
          h(
            "div",
            { class: "relevance" },
            score !== undefined && score !== null ? h("div", { class: "relevance-score" }, "score ", h("strong", null, Number(score).toFixed(2))) : null,
            attrs.should_respond !== undefined ? h("div", null, "should respond: ", String(attrs.should_respond)) : null,
            h("p", null, attrs.relevance_reasoning || (d.status === "skipped" ? d.status_message : "") || ""),
          ),
        ),
      );
    }
    if (d.kind === "llm" || d.model) out.push(this.llmSection(d));
    else {
      if (d.input !== null && d.input !== undefined) out.push(section("Input", jsonView(d.input)));
      if (d.output !== null && d.output !== undefined) out.push(section("Output", jsonView(d.output)));
    }
    if (d.status_message && !FAILED.has(d.status) && d.status !== "skipped") out.push(section("Status message", pre(d.status_message)));
    if (Object.keys(attrs).length) out.push(section("Attributes", jsonView(attrs, { openDepth: 1 })));
    if (d.events && d.events.length) out.push(section(`Events (${d.events.length})`, eventList(d.events)));
    return out;
  }

  errorSection(sp, d) {
    const type = d.error_type || (d.status === "timeout" ? "Timeout" : "Error");
    const body = h(
      "div",
      { class: "error-detail", dataset: { testid: "error-detail" } },
      h("div", { class: "err-title" }, h("strong", null, type.split(".").pop()), type.includes(".") ? h("span", { class: "muted" }, " " + type) : null),
      h("p", { class: "err-message" }, d.error_message || d.status_message || d.status),
      d.error_traceback ? h("details", { class: "tb", open: true }, h("summary", null, "Traceback"), pre(d.error_traceback, "traceback")) : null,
    );
    const before = this.before(sp);
    const causality = h("a", { class: "btn small", href: "#/errors?error=" + encodeURIComponent(d.id) }, "Causality chain →");
    return section(
      "Error",
      body,
      h("h4", null, "What came before (in this trace)"),
      before,
      h("p", null, causality),
    );
  }

  /** The latest spans and events of this trace that happened before a failure ended. */
  before(sp) {
    const end = sp.off + (sp.dur || 0);
    const ancestors = new Set();
    let p = sp.parent ? this.model.byId.get(sp.parent) : null;
    while (p) {
      ancestors.add(p.id);
      p = p.parent ? this.model.byId.get(p.parent) : null;
    }
    const items = [];
    for (const other of this.model.spans) {
      if (other.id === sp.id || ancestors.has(other.id)) continue;
      if (other.off <= end) items.push({ t: other.off, span: other });
    }
    for (const ev of this.model.events) if (ev.off <= end) items.push({ t: ev.off, ev });
    items.sort((a, b) => b.t - a.t);
    const shown = items.slice(0, 10).reverse();
    const list = h("ol", { class: "before" });
    for (const it of shown) {
      if (it.span) {
        const s2 = it.span;
        const a = h("a", { href: "#" }, `${s2.kind} ${s2.name}`);
        a.addEventListener("click", (e) => {
          e.preventDefault();
          this.select(s2.id, true);
        });
        list.appendChild(
          h("li", { class: FAILED.has(s2.status) ? "failed" : "" }, h("span", { class: "muted" }, `+${f.duration(it.t)} `), a, " ", statusBadge(s2.status), s2.agent ? h("span", { class: "muted" }, " " + s2.agent) : null),
        );
      } else {
        const ev = it.ev;
        list.appendChild(
          h(
            "li",
            { class: ev.level === "ERROR" || ev.level === "CRITICAL" ? "failed" : "" },
            h("span", { class: "muted" }, `+${f.duration(it.t)} `),
            levelBadge(ev.level),
            ` ${ev.type} `,
            h("span", null, f.truncate(ev.message || ev.name, 140)),
          ),
        );
      }
    }
    return list;
  }

  llmSection(d) {
    const rows = [
      ["Provider", d.provider],
      ["Model", d.model],
      ["Input tokens", f.num(d.input_tokens)],
      ["Output tokens", f.num(d.output_tokens)],
      d.cached_tokens ? ["Cached tokens", f.num(d.cached_tokens)] : null,
      d.reasoning_tokens ? ["Reasoning tokens", f.num(d.reasoning_tokens)] : null,
      ["Total tokens", f.num(d.total_tokens)],
      ["Input cost", f.money(d.input_cost)],
      ["Output cost", f.money(d.output_cost)],
      ["Total cost", d.unpriced ? null : f.money(d.total_cost)],
      ["Price source", d.cost_source],
      d.is_streaming ? ["Streaming", `${f.num(d.chunks_count)} chunks · first token ${f.duration(d.time_to_first_token_ms)}`] : null,
    ].filter((r) => r && r[1] !== null && r[1] !== undefined);
    return section(
      "LLM call",
      d.unpriced
        ? h("div", { class: "warn-box", dataset: { testid: "unpriced" } }, tag("price unknown", "warn"), ` No price is known for ${d.model || "this model"}; its cost is not counted in totals.`)
        : null,
      h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", null, k), h("dd", null, String(v))])),
      h("h4", null, "Prompt"),
      prompt(d.input),
      h("h4", null, "Response"),
      response(d.output),
    );
  }
}

/** LLM calls, tokens and cost in a span's subtree. */
function llmInside(sp) {
  const out = { calls: 0, tokens: 0, cost: 0 };
  const stack = [...sp.children];
  while (stack.length) {
    const c = stack.pop();
    if (c.kind === "llm") {
      out.calls++;
      out.tokens += c.tokens || 0;
      out.cost += c.cost || 0;
    }
    for (const g of c.children) stack.push(g);
  }
  return out;
}

function countBelow(sp) {
  let n = 0;
  const stack = [...sp.children];
  while (stack.length) {
    const c = stack.pop();
    n++;
    for (const g of c.children) stack.push(g);
  }
  return n;
}

function section(title, ...children) {
  return h("section", { class: "dt-section" }, h("h4", { class: "dt-section-title" }, title), children);
}

function messageText(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (typeof p === "string" ? p : p && typeof p.text === "string" ? p.text : JSON.stringify(p)))
      .join("\n");
  }
  return JSON.stringify(content, null, 2);
}

/** An LLM prompt: chat messages as bubbles, a string as text, anything else as JSON. */
function prompt(input) {
  if (input === null || input === undefined) return h("p", { class: "muted" }, "(not recorded)");
  if (typeof input === "string") return pre(input, "prompt");
  const messages = Array.isArray(input) ? input : Array.isArray(input.messages) ? input.messages : null;
  if (messages && messages.every((m) => m && typeof m === "object" && "role" in m)) {
    const extra = Array.isArray(input) ? null : Object.fromEntries(Object.entries(input).filter(([k]) => k !== "messages"));
    return h(
      "div",
      { class: "messages", dataset: { testid: "prompt" } },
      messages.map((m) =>
        h("div", { class: "msg role-" + String(m.role).replace(/[^a-z]/g, "") }, h("div", { class: "msg-role" }, String(m.role)), pre(messageText(m.content), "msg-text")),
      ),
      extra && Object.keys(extra).length ? jsonView(extra, { openDepth: 0 }) : null,
    );
  }
  if (typeof input === "object" && typeof input.prompt === "string") return pre(input.prompt, "prompt");
  return jsonView(input);
}

function response(output) {
  if (output === null || output === undefined) return h("p", { class: "muted" }, "(no response)");
  if (typeof output === "string") return pre(output, "response");
  if (typeof output === "object" && !Array.isArray(output)) {
    const textKey = ["text", "content", "response", "completion"].find((k) => typeof output[k] === "string");
    if (textKey) {
      const rest = Object.fromEntries(Object.entries(output).filter(([k]) => k !== textKey));
      return h("div", null, pre(output[textKey], "response"), Object.keys(rest).length ? jsonView(rest, { openDepth: 0 }) : null);
    }
  }
  return jsonView(output);
}

function eventList(events) {
  return h(
    "ul",
    { class: "events" },
    events.map((e) =>
      h(
        "li",
        null,
        h("div", null, levelBadge(e.level), " ", h("strong", null, `${e.type} · ${e.name}`), h("span", { class: "muted" }, " " + f.clock(e.time_ms))),
        e.message ? h("div", { class: "ev-msg" }, e.message) : null,
        e.data && Object.keys(e.data).length ? jsonView(e.data, { openDepth: 0 }) : null,
      ),
    ),
  );
}

