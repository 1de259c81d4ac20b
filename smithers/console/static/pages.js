// The console's pages: runs, one run (node tree, live event log, actions), approvals.
import { ApiError, call } from "./api.js";
import { EventLog } from "./events.js";
import { readStream } from "./sse.js";

const SERVE = document.body.dataset.mode === "serve";
const STATUSES = ["running", "waiting-approval", "waiting-event", "waiting-timer", "finished", "failed", "cancelled"];
const FINAL = new Set(["finished", "failed", "cancelled"]);
const REFRESH_MS = 2000; // never faster than once a second per view (console spec §4)
const enc = encodeURIComponent;

export const paths = {
  run: (id) => (SERVE ? "/" : `/v1/runs/${enc(id)}`),
  events: (id) => (SERVE ? "/events" : `/v1/runs/${enc(id)}/events`),
  frames: (id) => (SERVE ? "/frames?limit=1" : `/v1/runs/${enc(id)}/frames?limit=1`),
  approve: (id, node) => (SERVE ? `/approve/${enc(node)}` : `/v1/runs/${enc(id)}/nodes/${enc(node)}/approve`),
  deny: (id, node) => (SERVE ? `/deny/${enc(node)}` : `/v1/runs/${enc(id)}/nodes/${enc(node)}/deny`),
  cancel: (id) => (SERVE ? "/cancel" : `/v1/runs/${enc(id)}/cancel`),
  resume: (id) => `/v1/runs/${enc(id)}/resume`,
  nodes: (id) => `/v1/runs/${enc(id)}/nodes`,
  input: (id) => `/v1/runs/${enc(id)}/input`,
  transcript: (id) => `/v1/runs/${enc(id)}/transcript`,
  toolCalls: (id) => `/v1/runs/${enc(id)}/tool-calls`,
  signal: (id, name) => `/v1/runs/${enc(id)}/signals/${enc(name)}`,
};

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

function when(ms) {
  return ms ? new Date(ms).toLocaleString() : "—";
}

function duration(from, to) {
  if (!from) return "—";
  const ms = (to || Date.now()) - from;
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60000)} min`;
}

function badge(status) {
  return h("span", { class: `badge s-${status}` }, status);
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  box.replaceChildren(h("p", { class: kind }, message));
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => box.replaceChildren(), 6000);
}

/** Run ``action``; its ``ApiError`` is shown as the API worded it. */
async function act(label, action) {
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

// --- runs ---------------------------------------------------------------------------------

export function runsPage(main, query, life) {
  const status = query.get("status") || "";
  const workflow = query.get("workflow") || "";
  const PAGE = 50;
  let pages = 1;
  const counts = h("p", { class: "counts", "aria-live": "polite" });
  const body = h("tbody");
  const more = h("button", { type: "button", class: "quiet", id: "more-runs", onclick: () => { pages += 1; load(); } }, "Show more");
  const statusSelect = h("select", { id: "status-filter", onchange: () => go({ status: statusSelect.value }) },
    h("option", { value: "" }, "any status"), STATUSES.map((s) => h("option", { value: s, selected: s === status }, s)));
  const workflowInput = h("input", { id: "workflow-filter", type: "search", value: workflow, placeholder: "workflow name" });
  workflowInput.addEventListener("change", () => go({ workflow: workflowInput.value.trim() }));
  function go(change) {
    const next = new URLSearchParams({ status, workflow, ...change });
    for (const [k, v] of [...next]) if (!v) next.delete(k);
    location.hash = `#/runs${next.toString() ? `?${next}` : ""}`;
  }
  main.replaceChildren(
    h("h1", {}, "Runs"),
    h("div", { class: "filters" },
      h("label", { for: "status-filter" }, "Status"), statusSelect,
      h("label", { for: "workflow-filter" }, "Workflow"), workflowInput),
    counts,
    h("div", { class: "table-wrap" }, h("table", { class: "runs" },
      h("thead", {}, h("tr", {}, ["Run", "Workflow", "Status", "Created", "Duration"].map((c) => h("th", { scope: "col" }, c)))),
      body)),
    more,
  );
  /** The first ``pages`` pages, each after the last run of the one before. */
  async function listed() {
    const all = [];
    let last = null;
    for (let page = 0; page < pages; page += 1) {
      const params = new URLSearchParams({ limit: String(PAGE) });
      if (status) params.set("status", status);
      if (workflow) params.set("workflow", workflow);
      if (last) params.set("before", `${last.createdAtMs}:${last.runId}`);
      const batch = await call("GET", `/v1/runs?${params}`);
      all.push(...batch);
      if (batch.length < PAGE) return { runs: all, end: true };
      last = batch[batch.length - 1];
    }
    return { runs: all, end: false };
  }
  async function load() {
    let result;
    let tally;
    try {
      result = await listed();
      tally = await call("GET", `/v1/run-counts${workflow ? `?${new URLSearchParams({ workflow })}` : ""}`);
    } catch (error) {
      counts.textContent = error.message;
      return;
    }
    const { runs, end } = result;
    counts.replaceChildren(`${tally.total} run${tally.total === 1 ? "" : "s"}${workflow ? ` of ${workflow}` : ""}`,
      ...Object.entries(tally.byStatus).map(([s, n]) => h("span", { class: "count", "data-count-of": s }, badge(s), ` ${n}`)),
      h("span", { class: "muted" }, `· ${runs.length} shown`));
    body.replaceChildren(...runs.map((run) => h("tr", { "data-run": run.runId, "data-status": run.status },
      h("td", {}, h("a", { href: `#/runs/${enc(run.runId)}` }, run.runId)),
      h("td", {}, run.workflowName),
      h("td", {}, badge(run.status)),
      h("td", {}, when(run.createdAtMs)),
      h("td", {}, duration(run.startedAtMs, run.finishedAtMs)))));
    more.hidden = end;
  }
  load();
  life.every(REFRESH_MS, load);
}

// --- one run ------------------------------------------------------------------------------

const NODE_STATE = {
  NodePending: "pending", NodeStarted: "in-progress", NodeFinished: "finished", NodeFailed: "failed",
  NodeRetrying: "pending", NodeCancelled: "cancelled", NodeSkipped: "skipped",
  NodeWaitingApproval: "waiting-approval", NodeWaitingTimer: "waiting-timer",
};

class NodeStates {
  constructor() {
    this.nodes = new Map();
  }

  apply(event) {
    if (!event.nodeId) return false;
    const key = `${event.nodeId}#${event.iteration || 0}`;
    const node = this.nodes.get(key) || { id: event.nodeId, iteration: event.iteration || 0, state: "pending", attempts: 0 };
    this.nodes.set(key, node);
    const state = NODE_STATE[event.type];
    if (state) node.state = state;
    if (event.type === "NodeStarted") {
      node.attempts = Math.max(node.attempts, event.attempt || 1);
      node.startedAt = event.timestampMs;
      node.endedAt = null;
      node.error = null;
    }
    if (["NodeFinished", "NodeFailed", "NodeCancelled"].includes(event.type)) node.endedAt = event.timestampMs;
    if (event.type === "NodeFailed") node.error = event.error;
    if (event.type === "TaskHeartbeat") node.heartbeat = event.timestampMs;
    if (event.type === "NodeOutput") node.lastLog = event.text;
    if (event.type === "ToolCallStarted") node.tools = (node.tools || 0) + 1;
    return true;
  }

  of(id) {
    return [...this.nodes.values()].filter((n) => n.id === id);
  }

  /** The stored nodes and attempts (``GET /v1/runs/{id}/nodes``) under what events said. */
  load(stored) {
    for (const row of stored) {
      const key = `${row.nodeId}#${row.iteration}`;
      const node = this.nodes.get(key) || { id: row.nodeId, iteration: row.iteration, attempts: 0 };
      node.state = row.state;
      node.attempts = Math.max(node.attempts, row.lastAttempt || 0);
      node.history = row.attempts;
      node.output = row.output;
      const last = row.attempts[row.attempts.length - 1];
      if (last) {
        node.startedAt = last.startedAtMs;
        node.endedAt = last.finishedAtMs;
        node.error = last.error;
        node.heartbeat = last.heartbeatAtMs || node.heartbeat;
      }
      this.nodes.set(key, node);
    }
  }
}

function treeOf(frame, states, actions) {
  let xml = null;
  try {
    if (frame && frame.encoding === "full") xml = JSON.parse(frame.xmlJson);
  } catch {
    xml = null;
  }
  const rows = [];
  function walk(element, depth) {
    if (!element || element.kind !== "element") return;
    const kind = element.tag.replace(/^smithers:/, "");
    const id = element.props && element.props.id;
    if (id !== undefined && kind !== "workflow") {
      const found = states.of(String(id));
      const list = found.length ? found : [{ id: String(id), iteration: 0, state: "pending", attempts: 0 }];
      for (const node of list) rows.push(nodeRow(node, kind, depth, actions));
    } else if (kind !== "workflow") {
      rows.push(h("li", { class: "group", depth }, kind));
    }
    for (const child of element.children || []) walk(child, kind === "workflow" ? depth : depth + 1);
  }
  if (xml) walk(xml, 0);
  else for (const node of states.nodes.values()) rows.push(nodeRow(node, "task", 0, actions));
  return h("ul", { class: "tree", "aria-label": "Nodes" }, rows);
}

function nodeRow(node, kind, depth, actions) {
  const parts = [
    h("span", { class: "node-id" }, node.id, node.iteration ? ` [${node.iteration}]` : ""),
    h("span", { class: "kind" }, kind),
    badge(node.state),
    h("span", { class: "muted" }, node.attempts ? `attempt ${node.attempts}` : ""),
    h("span", { class: "muted" }, node.startedAt ? duration(node.startedAt, node.endedAt) : ""),
  ];
  if (node.state === "in-progress" && node.heartbeat) {
    parts.push(h("span", { class: "muted heartbeat" }, `heartbeat ${duration(node.heartbeat)} ago`));
  }
  if (node.state === "waiting-approval") parts.push(actions.decision(node.id));
  const row = h("li", { class: "node", "data-node": node.id, "data-state": node.state, depth }, parts);
  if (node.error) row.append(h("p", { class: "error node-error" }, `${node.error.name || "Error"}: ${node.error.message || ""}`));
  if (node.history && node.history.length > 1) {
    row.append(h("ol", { class: "attempts" }, node.history.map((a) => h("li", {},
      `attempt ${a.attempt}: ${a.state}, ${duration(a.startedAtMs, a.finishedAtMs)}`,
      a.error ? ` — ${a.error.name || "Error"}: ${a.error.message || ""}` : ""))));
  }
  if (node.lastLog) row.append(h("p", { class: "muted log-line" }, node.lastLog));
  if (node.output !== undefined && node.output !== null) {
    row.append(h("details", { class: "output" }, h("summary", {}, "output"),
      h("pre", {}, JSON.stringify(node.output, null, 2))));
  }
  return row;
}

function decisionForm(runId, nodeId, after) {
  const note = h("input", { type: "text", placeholder: "note", "aria-label": `note for ${nodeId}` });
  const by = h("input", { type: "text", placeholder: "decided by", "aria-label": `decider for ${nodeId}` });
  const decide = (approved) => {
    if (!approved && !confirm(`Deny ${nodeId}? A decision cannot be taken back.`)) return;
    act(approved ? "Approve" : "Deny", async () => {
      const body = {};
      if (note.value) body.note = note.value;
      if (by.value) body.decidedBy = by.value;
      await call("POST", approved ? paths.approve(runId, nodeId) : paths.deny(runId, nodeId), body);
      after();
    });
  };
  return h("span", { class: "decision" }, note, by,
    h("button", { type: "button", class: "approve", onclick: () => decide(true) }, "Approve"),
    h("button", { type: "button", class: "deny", onclick: () => decide(false) }, "Deny"));
}

export async function runPage(main, runId, life) {
  const header = h("section", { class: "run-head", "aria-live": "polite" });
  const actionsBox = h("section", { class: "actions", "aria-label": "Actions" });
  const treeBox = h("section", { class: "nodes" }, h("h2", {}, "Nodes"));
  const toolsBox = h("section", { class: "tool-calls", hidden: true });
  const talkBox = h("section", { class: "transcript", hidden: true });
  let input;
  const typeSelect = h("select", { id: "type-filter", "aria-label": "event type" }, h("option", { value: "" }, "all types"));
  const nodeInput = h("input", { id: "node-filter", type: "search", placeholder: "node id", "aria-label": "node id" });
  const logBox = h("div", { class: "log", id: "event-log" });
  main.replaceChildren(
    h("p", {}, SERVE ? "" : h("a", { href: "#/runs" }, "← Runs")),
    h("h1", {}, runId), header, actionsBox, treeBox, talkBox, toolsBox,
    h("section", { class: "events" }, h("h2", {}, "Events"),
      h("div", { class: "filters" }, typeSelect, nodeInput, h("span", { class: "muted", id: "event-count" })), logBox),
  );
  const log = new EventLog(logBox);
  const states = new NodeStates();
  const filter = () => log.setFilter(typeSelect.value, nodeInput.value.trim());
  typeSelect.addEventListener("change", filter);
  nodeInput.addEventListener("input", filter);
  let run = null;
  let frame = null;
  let dirty = true;
  let lastRefresh = 0;
  let queued = null;
  const decisions = new Map(); // kept across redraws: what was typed into them stays
  const actions = {
    decision: (nodeId) => {
      if (!decisions.has(nodeId)) decisions.set(nodeId, decisionForm(runId, nodeId, refresh));
      return decisions.get(nodeId);
    },
  };
  let actionsFor = null;

  /** ``refresh`` at most once a second, however many events ask for it. */
  function refreshSoon() {
    if (queued) return;
    const wait = Math.max(0, lastRefresh + 1000 - Date.now());
    queued = setTimeout(() => {
      queued = null;
      refresh();
    }, wait);
  }

  async function refresh() {
    lastRefresh = Date.now();
    try {
      run = await call("GET", paths.run(runId));
      const frames = await call("GET", paths.frames(runId));
      frame = frames[0] || frame;
      if (!SERVE) {
        states.load(await call("GET", paths.nodes(runId)));
        drawTools(await call("GET", paths.toolCalls(runId)));
        drawTranscript(await call("GET", paths.transcript(runId)));
        if (input === undefined) input = (await call("GET", paths.input(runId))).input;
      }
    } catch (error) {
      header.replaceChildren(h("p", { class: "error" }, `${error.code || ""} ${error.message}`));
      return;
    }
    dirty = true;
    draw();
  }

  function draw() {
    if (!run || !dirty) return;
    dirty = false;
    const error = run.error ? h("p", { class: "error run-error" }, typeof run.error === "string" ? run.error : JSON.stringify(run.error)) : null;
    header.replaceChildren(...[
      h("dl", { class: "facts" },
        h("dt", {}, "Status"), h("dd", { id: "run-status", "data-status": run.status }, badge(run.status)),
        h("dt", {}, "Workflow"), h("dd", {}, run.workflowName),
        h("dt", {}, "Created"), h("dd", {}, when(run.createdAtMs)),
        h("dt", {}, "Duration"), h("dd", {}, duration(run.startedAtMs, run.finishedAtMs)),
        h("dt", {}, "Nodes"), h("dd", {}, Object.entries(run.summary || {}).map(([s, n]) => `${s} ${n}`).join(", ") || "—"),
        input === undefined ? null : h("dt", {}, "Input"),
        input === undefined ? null : h("dd", {}, h("details", { class: "input" }, h("summary", {}, "show"),
          h("pre", {}, JSON.stringify(input, null, 2))))),
      error,
    ].filter(Boolean));
    treeBox.replaceChildren(h("h2", {}, "Nodes"), treeOf(frame, states, actions));
    if (actionsFor !== run.status) {
      actionsFor = run.status; // redrawn only when they change: a half-typed signal stays
      drawActions();
    }
    const known = new Set([...typeSelect.options].map((o) => o.value));
    for (const type of log.types()) if (!known.has(type)) typeSelect.append(h("option", { value: type }, type));
  }

  let toolsShown = "";
  function drawTools(calls) {
    const shown = JSON.stringify(calls);
    if (shown === toolsShown) return; // unchanged: a call someone opened stays open
    toolsShown = shown;
    const keyOf = (c) => `${c.nodeId}/${c.iteration}/${c.attempt}/${c.callId}`;
    const open = new Set([...toolsBox.querySelectorAll("details[open]")].map((d) => d.dataset.key));
    toolsBox.hidden = calls.length === 0;
    toolsBox.replaceChildren(h("h2", {}, `Tool calls (${calls.length})`), h("ol", { class: "calls" },
      calls.map((c) => h("li", { "data-tool": c.tool, "data-status": c.status },
        h("details", { "data-key": keyOf(c), open: open.has(keyOf(c)) },
          h("summary", {}, h("span", { class: "node-id" }, c.tool), " ", badge(c.status),
            h("span", { class: "muted" }, ` ${c.nodeId} · attempt ${c.attempt} · ${duration(c.startedAtMs, c.finishedAtMs)}`)),
          h("pre", {}, `input: ${JSON.stringify(c.input, null, 2)}`),
          c.output !== null ? h("pre", {}, `output: ${JSON.stringify(c.output, null, 2)}`) : null,
          c.error ? h("pre", { class: "error" }, `error: ${JSON.stringify(c.error, null, 2)}`) : null)))));
  }

  function drawTranscript(turns) {
    talkBox.hidden = turns.length === 0;
    const said = (content) => {
      if (typeof content === "string") return content;
      if (content && typeof content.text === "string" && content.text) return content.text;
      return JSON.stringify(content, null, 2);
    };
    talkBox.replaceChildren(h("h2", {}, "Agent conversation"), h("ol", { class: "turns" },
      turns.map((t) => h("li", { "data-role": t.role, "data-node": t.nodeId },
        h("div", { class: "muted" }, `${t.nodeId} · attempt ${t.attempt} · ${t.role}`,
          t.usage ? ` · ${t.usage.input_tokens ?? 0} in / ${t.usage.output_tokens ?? 0} out tokens` : ""),
        h("pre", {}, said(t.content))))));
  }

  function drawActions() {
    const buttons = [];
    if (!FINAL.has(run.status)) {
      buttons.push(h("button", { type: "button", class: "danger", id: "cancel-run", onclick: () => {
        if (confirm(`Cancel run ${runId}? Its running tasks stop.`)) act("Cancel", async () => { await call("POST", paths.cancel(runId)); refresh(); });
      } }, "Cancel run"));
    }
    if (!SERVE && run.status !== "finished") {
      buttons.push(h("button", { type: "button", id: "resume-run", onclick: () => act("Resume", async () => { await call("POST", paths.resume(runId), {}); refresh(); }) }, "Resume"));
    }
    if (!SERVE && !FINAL.has(run.status)) buttons.push(signalForm());
    actionsBox.replaceChildren(h("h2", {}, "Actions"), ...buttons);
  }

  function signalForm() {
    const name = h("input", { id: "signal-name", required: true, placeholder: "signal name", "aria-label": "signal name" });
    const data = h("textarea", { id: "signal-data", rows: 2, "aria-label": "signal data (JSON)" });
    data.value = "{}";
    const correlation = h("input", { id: "signal-correlation", placeholder: "correlation id", "aria-label": "correlation id" });
    const form = h("form", { class: "signal" }, name, data, correlation, h("button", { type: "submit" }, "Send signal"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      let value;
      try {
        value = JSON.parse(data.value || "null");
      } catch (error) {
        toast(`Signal data is not JSON: ${error.message}`, "error");
        return;
      }
      const body = { data: value };
      if (correlation.value) body.correlationId = correlation.value;
      act("Signal", async () => {
        const answer = await call("POST", paths.signal(runId, name.value), body);
        toast(answer.delivered ? "Signal delivered" : "Signal recorded (nothing was waiting for it)");
        refresh();
      });
    });
    return form;
  }

  async function follow() {
    let last = null;
    const controller = new AbortController();
    life.onEnd(() => controller.abort());
    let batch = [];
    const flush = () => {
      if (!batch.length) return;
      const events = batch;
      batch = [];
      for (const event of events) if (states.apply(event)) dirty = true;
      log.add(events);
      document.getElementById("event-count").textContent = `${log.events.length} events`;
      if (events.some((e) => !e.nodeId || /^(Approval|ToolCall|NodeFinished|NodeFailed)/.test(e.type))) refreshSoon();
      draw();
    };
    const timer = setInterval(flush, 100);
    life.onEnd(() => clearInterval(timer));
    while (!life.ended) {
      try {
        last = await readStream(paths.events(runId), last, (sse) => {
          if (sse.data) batch.push({ ...JSON.parse(sse.data), seq: Number(sse.id) });
        }, controller.signal);
      } catch (error) {
        if (life.ended) return;
      }
      flush();
      if (run && FINAL.has(run.status)) {
        await refresh();
        if (FINAL.has(run.status)) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000)); // the server's retry
    }
  }

  await refresh();
  follow();
  life.every(REFRESH_MS * 5, refresh); // durations and heartbeats; events come by SSE
}

// --- approvals ----------------------------------------------------------------------------

export function approvalsPage(main, life) {
  const list = h("ul", { class: "approvals", "aria-live": "polite" });
  const forms = new Map(); // kept across reloads: what was typed into them stays
  main.replaceChildren(h("h1", {}, "Approvals"), list);
  async function load() {
    let answer;
    try {
      answer = await call("GET", "/v1/approvals");
    } catch (error) {
      list.replaceChildren(h("li", { class: "error" }, error.message));
      return;
    }
    const pending = [...answer.approvals].sort((a, b) => (a.requestedAtMs || 0) - (b.requestedAtMs || 0));
    if (!pending.length) {
      list.replaceChildren(h("li", { class: "muted" }, "Nothing waits for a decision."));
      return;
    }
    list.replaceChildren(...pending.map((a) => h("li", { class: "approval", "data-run": a.runId, "data-node": a.nodeId },
      h("div", {}, h("strong", {}, a.requestTitle || a.label || a.nodeId), " ",
        h("a", { href: `#/runs/${enc(a.runId)}` }, a.runId), h("span", { class: "muted" }, ` · ${a.workflowName} · ${a.nodeId} · waiting ${duration(Date.now() - a.waitingMs)}`)),
      a.requestSummary ? h("p", {}, a.requestSummary) : null,
      formFor(a))));
  }
  function formFor(approval) {
    const key = `${approval.runId}\n${approval.nodeId}`;
    if (!forms.has(key)) forms.set(key, decisionForm(approval.runId, approval.nodeId, load));
    return forms.get(key);
  }
  load();
  life.every(REFRESH_MS, load);
}

export async function servedRunId() {
  const run = await call("GET", "/");
  return run.runId;
}
