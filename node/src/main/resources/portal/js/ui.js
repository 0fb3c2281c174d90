// Small DOM helpers shared by the portal's pages. Every string is set as text, never as HTML.

const status = document.getElementById("status");
const main = document.getElementById("main");

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k === "class") e.className = v;
    else if (v === true) e.setAttribute(k, "");
    else if (v !== false && v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function field(label, input) {
  const id = "f-" + Math.random().toString(36).slice(2, 9);
  input.id = id;
  return el("div", { class: "field" }, el("label", { for: id }, label), input);
}

export function say(msg) {
  status.textContent = msg;
  if (msg) setTimeout(() => { if (status.textContent === msg) status.textContent = ""; }, 6000);
}

export function show(...nodes) {
  main.replaceChildren(...nodes.flat());
  main.focus();
}

export async function guard(fn) {
  try {
    return await fn();
  } catch (e) {
    say(e.message || String(e));
    return undefined;
  }
}

export function fmt(ms) {
  return new Date(ms).toLocaleString();
}

/** Sets a check's badge: "ok" or "bad", its text, and why (shown on hover). */
export function mark(badge, ok, text, why = "") {
  badge.className = "badge " + (ok ? "ok" : "bad");
  badge.textContent = text;
  badge.title = why;
}
