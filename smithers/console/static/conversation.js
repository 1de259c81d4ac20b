// An agent's conversation as people read it (GET /v1/runs/{runId}/transcript): one block per
// attempt of an agent task, with the assistant's text, each tool call as a chip that opens to
// its arguments and result (pretty-printed; JSON text is parsed first), the tokens of each
// model turn and the corrections the loop asked for. "Raw JSON" shows the turns as sent.
import { badge, h } from "./dom.js";

/** JSON text (a tool's arguments or result) parsed; other text as it is. */
function parsed(value) {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** A value for reading: a string as itself, anything else as indented JSON. */
function pretty(value) {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

/** Arguments on one line, for a chip's label. */
function preview(value, max = 60) {
  const text = value && typeof value === "object" && !Array.isArray(value)
    ? Object.entries(value).map(([key, v]) => `${key}: ${JSON.stringify(v)}`).join(", ")
    : pretty(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function count(usage, snake, camel) {
  return Number((usage && (usage[snake] ?? usage[camel])) || 0);
}

function tokens(usage) {
  if (!usage) return null;
  const parts = [`${count(usage, "input_tokens", "inputTokens")} in / ${count(usage, "output_tokens", "outputTokens")} out tokens`];
  const cached = count(usage, "cache_read_tokens", "cacheReadTokens");
  const reasoning = count(usage, "reasoning_tokens", "reasoningTokens");
  if (cached) parts.push(`${cached} from cache`);
  if (reasoning) parts.push(`${reasoning} reasoning`);
  return h("span", { class: "tokens muted" }, parts.join(" · "));
}

/** The turns of each attempt of each agent task, in the order they first appear. */
function byAttempt(turns) {
  const groups = new Map();
  for (const turn of turns) {
    const key = `${turn.nodeId}#${turn.iteration}#${turn.attempt}`;
    if (!groups.has(key)) groups.set(key, { key, nodeId: turn.nodeId, iteration: turn.iteration, attempt: turn.attempt, turns: [] });
    groups.get(key).turns.push(turn);
  }
  for (const group of groups.values()) group.turns.sort((a, b) => a.turn - b.turn);
  return [...groups.values()];
}

function callsOf(turn) {
  const calls = turn.content && Array.isArray(turn.content.toolCalls) ? turn.content.toolCalls : [];
  return calls.filter((c) => c && typeof c === "object");
}

function resultsOf(turn) {
  return Array.isArray(turn.content) ? turn.content.filter((r) => r && typeof r === "object") : [];
}

function chip(call, result, key, open) {
  const status = !result ? "pending" : result.isError ? "error" : "ok";
  const args = parsed(call.arguments ?? {});
  const value = result ? parsed(result.content) : undefined;
  const error = value && value.error && typeof value.error === "object" ? value.error : null;
  const shown = result && result.isError && error && error.code ? `${error.code}: ${error.message ?? ""}` : pretty(value);
  const id = `${key}/${call.id}`;
  return h("li", { class: "chip", "data-tool": call.name, "data-status": status },
    h("details", { "data-key": id, open: open.has(id) },
      h("summary", {}, h("span", { class: "tool-name" }, call.name), h("span", { class: "args" }, preview(args)), badge(status)),
      h("div", { class: "call-body" },
        h("h4", {}, "arguments"), h("pre", { class: "arguments" }, pretty(args)),
        h("h4", {}, result && result.isError ? "error" : "result"),
        result ? h("pre", { class: result.isError ? "result error" : "result" }, shown) : h("p", { class: "muted" }, "no result yet"))));
}

function head(who, ...rest) {
  return h("div", { class: "turn-head" }, h("span", { class: "who" }, who), ...rest);
}

function turnView(turn, group, open) {
  const at = { "data-role": turn.role, "data-node": turn.nodeId, "data-turn": turn.turn };
  if (turn.role === "assistant" && turn.content && typeof turn.content === "object") {
    const text = typeof turn.content.text === "string" ? turn.content.text : "";
    const calls = callsOf(turn);
    return h("li", { class: "turn", ...at }, head("Assistant", tokens(turn.usage)),
      text ? h("p", { class: "said" }, text) : null,
      calls.length ? h("ul", { class: "chips", "aria-label": "tool calls" }, calls.map((c) => chip(c, group.results.get(c.id), group.key, open))) : null);
  }
  if (turn.role === "tool") {
    const orphans = resultsOf(turn).filter((r) => !group.asked.has(r.callId));
    if (!orphans.length && Array.isArray(turn.content)) return null; // shown in their calls' chips
    return h("li", { class: "turn", ...at }, head("Tool results"),
      h("pre", { class: "result" }, pretty(orphans.length ? orphans.map((r) => ({ ...r, content: parsed(r.content) })) : turn.content)));
  }
  if (turn.role === "user") {
    return h("li", { class: "turn correction", ...at }, head("Correction", h("span", { class: "muted" }, "asked by Smithers: the answer did not fit the output type")),
      h("p", { class: "said" }, typeof turn.content === "string" ? turn.content : pretty(turn.content)));
  }
  if (turn.role === "session") {
    return h("li", { class: "turn session", ...at }, head("Session", h("span", { class: "muted" }, "of the coding CLI: "), h("code", {}, pretty(turn.content))));
  }
  return h("li", { class: "turn", ...at }, head(turn.role || "turn", tokens(turn.usage)), h("pre", { class: "raw" }, pretty(turn.content)));
}

function attemptView(group, raw, open) {
  const models = group.turns.filter((t) => t.role === "assistant");
  const sum = (snake, camel) => models.reduce((total, t) => total + count(t.usage, snake, camel), 0);
  group.results = new Map(group.turns.flatMap(resultsOf).map((r) => [r.callId, r]));
  group.asked = new Set(group.turns.flatMap(callsOf).map((c) => c.id));
  const items = raw
    ? group.turns.map((t) => h("li", { class: "turn", "data-role": t.role, "data-node": t.nodeId, "data-turn": t.turn }, h("pre", { class: "raw" }, JSON.stringify(t, null, 2))))
    : group.turns.map((t) => turnView(t, group, open)).filter(Boolean);
  return h("article", { class: "conversation", "data-node": group.nodeId, "data-attempt": group.attempt },
    h("h3", {}, h("span", { class: "node-id" }, group.nodeId, group.iteration ? ` [${group.iteration}]` : ""), ` · attempt ${group.attempt}`,
      h("span", { class: "muted" }, ` · ${models.length} model turn${models.length === 1 ? "" : "s"} · ${sum("input_tokens", "inputTokens")} in / ${sum("output_tokens", "outputTokens")} out tokens`)),
    h("ol", { class: "turns" }, items));
}

/** The "Agent conversation" section of a run page, redrawn only when the turns change. */
export class Conversation {
  constructor(box) {
    this.box = box;
    this.turns = [];
    this.shown = null;
    this.raw = false;
    this.drawnRaw = false;
    this.open = new Set();
  }

  show(turns) {
    const text = JSON.stringify(turns);
    if (text === this.shown) return; // unchanged: what someone opened stays open
    this.shown = text;
    this.turns = turns;
    this.draw();
  }

  draw() {
    if (!this.drawnRaw) this.open = new Set([...this.box.querySelectorAll("details[open]")].map((d) => d.dataset.key));
    this.drawnRaw = this.raw; // the raw view has no chips: what was open stays known for later
    const toggle = h("button", { type: "button", class: "quiet raw-toggle", id: "conversation-raw", "aria-pressed": String(this.raw), onclick: () => {
      this.raw = !this.raw;
      this.draw();
      document.getElementById("conversation-raw").focus();
    } }, "Raw JSON");
    this.box.hidden = this.turns.length === 0;
    this.box.replaceChildren(h("div", { class: "section-head" }, h("h2", { id: "conversation-title" }, "Agent conversation"), toggle),
      ...byAttempt(this.turns).map((group) => attemptView(group, this.raw, this.open)));
  }
}
