// One run's page: its facts, node tree, agent conversation, tool calls, live event log
// and actions.
import { call } from "./api.js";
import { Conversation } from "./conversation.js";
import { EventLog } from "./events.js";
import { act, badge, duration, h, toast, when } from "./dom.js";
import { NodeStates, decisionForm, treeOf } from "./nodes.js";
import { FINAL, REFRESH_MS, SERVE, paths } from "./paths.js";
import { readStream } from "./sse.js";

export async function runPage(main, runId, life) {
  const header = h("section", { class: "run-head", "aria-live": "polite" });
  const actionsBox = h("section", { class: "actions", "aria-label": "Actions" });
  const treeBox = h("section", { class: "nodes" }, h("h2", {}, "Nodes"));
  const toolsBox = h("section", { class: "tool-calls", hidden: true });
  const talkBox = h("section", { class: "transcript", hidden: true, "aria-labelledby": "conversation-title" });
  const talk = new Conversation(talkBox);
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
        talk.show(await call("GET", paths.transcript(runId)));
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

export async function servedRunId() {
  const run = await call("GET", "/");
  return run.runId;
}
