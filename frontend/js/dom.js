// Tiny helpers to build DOM safely: text always goes through createTextNode / textContent.

/**
 * h("a", {href: "#/", class: "x", onclick: fn, dataset: {id: 3}}, "text", childNode, [more])
 * Strings and numbers become text nodes; null/undefined/false children are skipped.
 * Attributes: `class`, `text` (textContent), `dataset`, `style` (object), `on<event>` (listener),
 * booleans (set when true) and everything else through setAttribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "value" || key === "checked" || key === "disabled" || key === "hidden") {
      el[key] = value;
    } else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/** Append children (nodes, strings, numbers, nested arrays) to `parent`. */
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Remove every child of `el`. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Replace the children of `el`. */
export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

/** Set text safely; returns the element. */
export function setText(el, text) {
  el.textContent = text === null || text === undefined ? "" : String(text);
  return el;
}

/** Trailing-edge debounce with a minimum interval between calls. */
export function throttle(fn, minIntervalMs) {
  let timer = null;
  let last = 0;
  const wrapped = () => {
    if (timer) return;
    const wait = Math.max(0, last + minIntervalMs - Date.now());
    timer = setTimeout(() => {
      timer = null;
      last = Date.now();
      fn();
    }, wait);
  };
  wrapped.cancel = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  return wrapped;
}

/**
 * Label each body cell with its column's header (`data-label`): a `table.data.reflow` too wide
 * for a narrow screen is drawn as one card per row, each value beside its label (style.css),
 * instead of clipping columns or breaking names letter by letter.
 */
export function labelCells(table) {
  const labels = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const tr of table.querySelectorAll("tbody tr")) {
    [...tr.children].forEach((td, i) => {
      if (labels[i] && !td.hasAttribute("colspan")) td.dataset.label = labels[i];
    });
  }
  return table;
}
