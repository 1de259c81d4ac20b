// The console's building blocks: elements, times and durations, status badges, the toast,
// and running an action whose refusal is shown as the API worded it.
import { ApiError } from "./api.js";

/** An element: ``h("button", {class: "x", onclick}, "text", child)``. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "depth") node.style.setProperty("--depth", String(value)); // no inline style (CSP)
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}


export function when(ms) {
  return ms ? new Date(ms).toLocaleString() : "—";
}

export function duration(from, to) {
  if (!from) return "—";
  const ms = (to || Date.now()) - from;
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60000)} min`;
}

export function badge(status) {
  return h("span", { class: `badge s-${status}` }, status);
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  box.replaceChildren(h("p", { class: kind }, message));
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => box.replaceChildren(), 6000);
}

/** Run ``action``; its ``ApiError`` is shown as the API worded it. */
export async function act(label, action) {
  try {
    await action();
    toast(`${label}: done`);
    return true;
  } catch (error) {
    const text = error instanceof ApiError ? `${error.code}: ${error.message}` : String(error);
    toast(`${label} refused — ${text}`, "error");
    return false;
  }
}
