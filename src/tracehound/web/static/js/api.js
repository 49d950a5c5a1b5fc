// The dashboard's JSON client: the API key (kept in localStorage, sent as a header), errors,
// and the live-update stream (server-sent events read with fetch, so the key travels in a
// header rather than in the URL).

const KEY_NAME = "tracehound.apiKey";
export const events = new EventTarget();

export function getKey() {
  try {
    return localStorage.getItem(KEY_NAME) || "";
  } catch {
    return "";
  }
}

export function setKey(key) {
  try {
    if (key) localStorage.setItem(KEY_NAME, key);
    else localStorage.removeItem(KEY_NAME);
  } catch {
    /* storage disabled: the key lasts for this page only */
  }
  events.dispatchEvent(new CustomEvent("key-changed"));
}

function headers() {
  const out = { Accept: "application/json" };
  const key = getKey();
  if (key) out.Authorization = "Bearer " + key;
  return out;
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
  }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

/** GET ui/api/<path> → parsed JSON. 401/403 → an "auth-required" event and an ApiError. */
export async function get(path, params, { signal } = {}) {
  const res = await fetch("ui/api/" + path + query(params), {
    headers: headers(),
    signal,
    cache: "no-store",
  });
  if (res.status === 401 || res.status === 403) {
    events.dispatchEvent(new CustomEvent("auth-required", { detail: res.status }));
    throw new ApiError(res.status, "An API key is required to read this store.");
  }
  if (!res.ok) {
    let detail = res.statusText;
    try {
      const body = await res.json();
      detail = (body.error && body.error.message) || body.detail || body;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, detail);
  }
  return res.json();
}

export function enc(value) {
  return encodeURIComponent(String(value));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Follow the server's live stream (GET /v1/stream, new traces); emits "change" (bursts
 * coalesced; detail: the last message) and "stream-state" ("connecting" | "live" | "offline" |
 * "auth") on `events`.
 */
export function startStream() {
  let stopped = false;
  let controller = null;
  const state = (s) => events.dispatchEvent(new CustomEvent("stream-state", { detail: s }));

  async function run() {
    let delay = 1000;
    while (!stopped) {
      controller = new AbortController();
      state("connecting");
      try {
        const res = await fetch("v1/stream?types=trace", {
          headers: { ...headers(), Accept: "text/event-stream" },
          signal: controller.signal,
          cache: "no-store",
        });
        if (res.status === 401 || res.status === 403) {
          state("auth");
          await waitForKey();
          continue;
        }
        if (!res.ok || !res.body) throw new Error("stream unavailable: " + res.status);
        state("live");
        delay = 1000;
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            dispatchBlock(buffer.slice(0, cut));
            buffer = buffer.slice(cut + 2);
          }
        }
      } catch {
        /* network error or aborted: retry below */
      }
      if (stopped) return;
      state("offline");
      await sleep(delay);
      delay = Math.min(delay * 2, 15000);
    }
  }

  function dispatchBlock(block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length) return;
    let detail = null;
    try {
      detail = JSON.parse(data.join("\n"));
    } catch {
      detail = data.join("\n");
    }
    if (name === "trace" || name === "span" || name === "lagged" || name === "change") {
      notify(detail);
    }
  }

  // Coalesce bursts (a batch of traces arrives at once): one "change" per second at most.
  let timer = null;
  let last = null;
  function notify(detail) {
    last = detail;
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      events.dispatchEvent(new CustomEvent("change", { detail: last }));
    }, 400);
  }

  function waitForKey() {
    return new Promise((resolve) => {
      events.addEventListener("key-changed", () => resolve(), { once: true });
    });
  }

  run();
  return () => {
    stopped = true;
    if (controller) controller.abort();
  };
}
