// DOM building without HTML strings: every piece of text becomes a text node, so trace
// content (untrusted) can never become markup. Nothing in this app uses innerHTML.

const SVG_NS = "http://www.w3.org/2000/svg";

function safeHref(value) {
  const s = String(value);
  // Only in-app links (#/...) and same-origin relative paths; never javascript: or data:.
  if (s.startsWith("#") || s.startsWith("/") || /^[a-z0-9_./-]+(\?.*)?$/i.test(s)) {
    if (/^\s*(javascript|data|vbscript):/i.test(s) || s.startsWith("//")) return "#";
    return s;
  }
  return "#";
}

function apply(el, attrs, svg) {
  if (!attrs) return;
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") {
      if (svg) el.setAttribute("class", String(value));
      else el.className = String(value);
    } else if (key === "text") {
      el.textContent = String(value);
    } else if (key === "style") {
      for (const [p, v] of Object.entries(value)) {
        if (v !== undefined && v !== null) el.style.setProperty(p, String(v));
      }
    } else if (key === "dataset") {
      for (const [k, v] of Object.entries(value)) {
        if (v !== undefined && v !== null) el.dataset[k] = String(v);
      }
    } else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "href") {
      el.setAttribute("href", safeHref(value));
    } else if (/^on/i.test(key) || key === "srcdoc" || key === "innerHTML") {
      // never set event-handler attributes or markup from values
      continue;
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** An HTML element: h("div", {class: "x"}, "text", h("span", null, "child")). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs, false);
  append(el, children);
  return el;
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs, true);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

export function text(value) {
  return document.createTextNode(value === undefined || value === null ? "" : String(value));
}
