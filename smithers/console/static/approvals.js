// The approvals inbox: every pending approval across runs, oldest first, decided in place.
import { call } from "./api.js";
import { duration, h } from "./dom.js";
import { decisionForm } from "./nodes.js";
import { REFRESH_MS, enc } from "./paths.js";

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
