// A run's nodes: their states from events and stored rows, the tree of the latest frame,
// and the approve / deny form of a waiting node.
import { call } from "./api.js";
import { act, badge, duration, h } from "./dom.js";
import { paths } from "./paths.js";

const NODE_STATE = {
  NodePending: "pending", NodeStarted: "in-progress", NodeFinished: "finished", NodeFailed: "failed",
  NodeRetrying: "pending", NodeCancelled: "cancelled", NodeSkipped: "skipped",
  NodeWaitingApproval: "waiting-approval", NodeWaitingTimer: "waiting-timer",
};

export class NodeStates {
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

export function treeOf(frame, states, actions) {
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

export function decisionForm(runId, nodeId, after) {
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
