// Where the console reads and acts: the /v1 API, or the serve-mode routes of one run.
export const SERVE = document.body.dataset.mode === "serve";
export const STATUSES = ["running", "waiting-approval", "waiting-event", "waiting-timer", "finished", "failed", "cancelled"];
export const FINAL = new Set(["finished", "failed", "cancelled"]);
export const REFRESH_MS = 2000; // never faster than once a second per view (console spec §4)
export const enc = encodeURIComponent;

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
