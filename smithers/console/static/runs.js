// The runs page: newest first, filtered by status and workflow, paged, with counts.
import { call } from "./api.js";
import { badge, duration, h, when } from "./dom.js";
import { REFRESH_MS, STATUSES, enc } from "./paths.js";

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
