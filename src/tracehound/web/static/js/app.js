// The dashboard shell: navigation, the time range, the API-key dialog, the live indicator,
// and a hash router (#/page/arg?params) that renders one page module at a time.

import { h, clear } from "./dom.js";
import * as api from "./api.js";
import { errorBox, loading } from "./ui.js";
import { hideTip } from "./charts.js";

const PAGES = {
  overview: () => import("./pages/overview.js"),
  executions: () => import("./pages/executions.js"),
  trace: () => import("./pages/trace.js"),
  agents: () => import("./pages/agents.js"),
  errors: () => import("./pages/errors.js"),
  cost: () => import("./pages/cost.js"),
  learning: () => import("./pages/learning.js"),
  interactions: () => import("./pages/interactions.js"),
};

const NAV = [
  ["overview", "Overview"],
  ["executions", "Executions"],
  ["agents", "Agents"],
  ["errors", "Errors"],
  ["cost", "Cost"],
  ["learning", "Learning"],
  ["interactions", "Interactions"],
];

export const RANGES = [
  ["15m", "Last 15 minutes", 15 * 60e3],
  ["1h", "Last hour", 3600e3],
  ["6h", "Last 6 hours", 6 * 3600e3],
  ["24h", "Last 24 hours", 24 * 3600e3],
  ["7d", "Last 7 days", 7 * 86400e3],
  ["30d", "Last 30 days", 30 * 86400e3],
  ["all", "All time", null],
];
const RANGE_KEY = "tracehound.range";
const DEFAULT_RANGE = "24h";

function storedRange() {
  try {
    return localStorage.getItem(RANGE_KEY) || DEFAULT_RANGE;
  } catch {
    return DEFAULT_RANGE;
  }
}

export function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const cut = raw.indexOf("?");
  const path = cut < 0 ? raw : raw.slice(0, cut);
  const qs = cut < 0 ? "" : raw.slice(cut + 1);
  const parts = path.split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const params = {};
  for (const [k, v] of new URLSearchParams(qs)) params[k] = v;
  return { page: parts[0] || "overview", arg: parts[1], params };
}

export function buildHash(page, arg, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    q.set(k, String(v));
  }
  const qs = q.toString();
  return "#/" + page + (arg ? "/" + encodeURIComponent(arg) : "") + (qs ? "?" + qs : "");
}

/** The time range of the current URL: {from, to} in ms (either may be null), and a label. */
export function currentRange(params) {
  if (params.from || params.to) {
    const from = params.from ? Number(params.from) : null;
    const to = params.to ? Number(params.to) : null;
    return { key: "custom", from, to, label: "Custom range" };
  }
  const key = params.range || storedRange();
  const found = RANGES.find((r) => r[0] === key) || RANGES.find((r) => r[0] === DEFAULT_RANGE);
  return {
    key: found[0],
    from: found[2] === null ? null : Date.now() - found[2],
    to: null,
    label: found[1],
  };
}

// -- shell -------------------------------------------------------------------------------------

const view = document.getElementById("view");
const navEl = document.getElementById("nav");
const rangeEl = document.getElementById("range");
const liveEl = document.getElementById("live");
const keyBtn = document.getElementById("key-button");
const gotoForm = document.getElementById("goto");

let cleanup = null;
let renderToken = 0;
let liveHandlers = [];

function renderNav(page) {
  clear(navEl);
  for (const [name, label] of NAV) {
    const active = name === page || (page === "trace" && name === "executions");
    navEl.appendChild(
      h(
        "a",
        {
          href: "#/" + name,
          class: "nav-link" + (active ? " active" : ""),
          "aria-current": active ? "page" : undefined,
          dataset: { nav: name },
        },
        label,
      ),
    );
  }
}

function renderRange(route) {
  clear(rangeEl);
  const range = currentRange(route.params);
  const sel = h(
    "select",
    { "aria-label": "Time range", dataset: { testid: "range" } },
    RANGES.map(([key, label]) => h("option", { value: key, selected: key === range.key }, label)),
    h("option", { value: "custom", selected: range.key === "custom" }, "Custom…"),
  );
  const customBox = h("span", { class: "custom-range" });
  const showCustom = () => {
    clear(customBox);
    const toLocal = (ms) => {
      if (!ms) return "";
      const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
      return d.toISOString().slice(0, 19);
    };
    const from = h("input", { type: "datetime-local", step: "1", value: toLocal(range.from), "aria-label": "From" });
    const to = h("input", { type: "datetime-local", step: "1", value: toLocal(range.to), "aria-label": "To" });
    const apply = h("button", { class: "btn small", type: "button" }, "Apply");
    apply.addEventListener("click", () => {
      const f = from.value ? new Date(from.value).getTime() : null;
      const t = to.value ? new Date(to.value).getTime() : null;
      const p = { ...route.params, from: f || "", to: t || "" };
      delete p.range;
      location.hash = buildHash(route.page, route.arg, p);
    });
    customBox.append(from, to, apply);
  };
  if (range.key === "custom") showCustom();
  sel.addEventListener("change", () => {
    if (sel.value === "custom") {
      showCustom();
      return;
    }
    try {
      localStorage.setItem(RANGE_KEY, sel.value);
    } catch {
      /* ignore */
    }
    const p = { ...route.params, range: sel.value };
    delete p.from;
    delete p.to;
    location.hash = buildHash(route.page, route.arg, p);
  });
  rangeEl.append(sel, customBox);
}

async function render() {
  const route = parseHash();
  const token = ++renderToken;
  if (cleanup) {
    try {
      cleanup();
    } catch {
      /* ignore */
    }
    cleanup = null;
  }
  liveHandlers = [];
  hideTip();
  renderNav(route.page);
  renderRange(route);
  const loader = PAGES[route.page];
  clear(view);
  if (!loader) {
    view.appendChild(errorBox(new Error("Unknown page: " + route.page)));
    return;
  }
  view.appendChild(loading());
  document.title = "tracehound · " + route.page;
  const ctx = {
    route,
    params: route.params,
    arg: route.arg,
    range: currentRange(route.params),
    alive: () => token === renderToken,
    api,
    /** Update the URL's params without re-rendering (filters, selections). */
    setParams(partial) {
      const params = { ...parseHash().params, ...partial };
      for (const [k, v] of Object.entries(params)) if (v === undefined || v === null || v === "") delete params[k];
      history.replaceState(null, "", buildHash(route.page, route.arg, params));
      ctx.params = params;
    },
    navigate(hash) {
      location.hash = hash;
    },
    /** Call fn(signature) when the store changes, while this page is shown. */
    onLive(fn) {
      liveHandlers.push(fn);
    },
  };
  try {
    const mod = await loader();
    if (token !== renderToken) return;
    const root = h("div", { class: "page page-" + route.page, dataset: { page: route.page } });
    const result = await mod.render(root, ctx);
    if (token !== renderToken) {
      if (typeof result === "function") result();
      return;
    }
    clear(view);
    view.appendChild(root);
    cleanup = typeof result === "function" ? result : null;
    if (mod.mounted) mod.mounted(root, ctx);
    root.dataset.ready = "true";
  } catch (err) {
    if (token !== renderToken) return;
    clear(view);
    view.appendChild(errorBox(err));
    if (err && (err.status === 401 || err.status === 403)) view.appendChild(keyHint());
  }
}

function keyHint() {
  const btn = h("button", { class: "btn", type: "button" }, "Enter API key");
  btn.addEventListener("click", openKeyDialog);
  return h("p", { class: "hint" }, btn);
}

// -- API key ---------------------------------------------------------------------------------

let dialog = null;

function openKeyDialog() {
  if (!dialog) {
    const input = h("input", {
      type: "password",
      name: "api-key",
      autocomplete: "off",
      placeholder: "thk_…",
      "aria-label": "API key",
      dataset: { testid: "key-input" },
    });
    const save = h("button", { class: "btn primary", type: "submit", dataset: { testid: "key-save" } }, "Save key");
    const forget = h("button", { class: "btn", type: "button" }, "Forget key");
    const cancel = h("button", { class: "btn", type: "button" }, "Cancel");
    const form = h(
      "form",
      { method: "dialog", class: "key-form" },
      h("h2", null, "API key"),
      h(
        "p",
        null,
        "This server requires an API key. Create one with ",
        h("code", null, "tracehound keys create <project>"),
        ". It is kept in this browser's local storage and sent as an Authorization header.",
      ),
      input,
      h("div", { class: "dialog-actions" }, forget, cancel, save),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      api.setKey(input.value.trim());
      dialog.close();
      render();
    });
    forget.addEventListener("click", () => {
      api.setKey("");
      input.value = "";
      dialog.close();
      render();
    });
    cancel.addEventListener("click", () => dialog.close());
    dialog = h("dialog", { class: "key-dialog", dataset: { testid: "key-dialog" } }, form);
    document.body.appendChild(dialog);
  }
  const input = dialog.querySelector("input");
  input.value = api.getKey();
  if (!dialog.open) dialog.showModal();
  input.focus();
}

// -- live ------------------------------------------------------------------------------------

function setLive(state) {
  liveEl.dataset.state = state;
  liveEl.title =
    state === "live"
      ? "Live: new traces appear as they arrive"
      : state === "auth"
        ? "Live updates need an API key"
        : state === "offline"
          ? "Live updates disconnected; retrying"
          : "Connecting…";
  liveEl.lastChild.textContent = state === "live" ? "Live" : state === "auth" ? "Locked" : state === "offline" ? "Offline" : "…";
}

api.events.addEventListener("stream-state", (e) => setLive(e.detail));
api.events.addEventListener("change", (e) => {
  for (const fn of liveHandlers) {
    try {
      fn(e.detail);
    } catch (err) {
      console.warn("live handler failed", err);
    }
  }
});
api.events.addEventListener("auth-required", () => openKeyDialog());

keyBtn.addEventListener("click", openKeyDialog);
gotoForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const input = gotoForm.querySelector("input");
  const id = input.value.trim();
  if (id) {
    input.value = "";
    location.hash = "#/trace/" + encodeURIComponent(id);
  }
});

window.addEventListener("hashchange", render);
window.addEventListener("scroll", hideTip, { passive: true });
api.startStream();
render();
