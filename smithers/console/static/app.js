// The console's entry point: the token prompt, the hash router, each view's lifetime.
import { forgetToken, onTokenNeeded, setToken, token } from "./api.js";
import { approvalsPage } from "./approvals.js";
import { runPage, servedRunId } from "./run.js";
import { runsPage } from "./runs.js";

const main = document.getElementById("main");
const dialog = document.getElementById("token-dialog");
const form = document.getElementById("token-form");
const input = document.getElementById("token-input");
const forget = document.getElementById("forget-token");
let waiting = null;

onTokenNeeded(() => {
  if (!waiting) {
    waiting = new Promise((resolve) => {
      const hadToken = sessionStorage.getItem("smithers.asked") === "1";
      const error = document.getElementById("token-error");
      error.hidden = !hadToken;
      error.textContent = hadToken ? "That token was refused." : "";
      sessionStorage.setItem("smithers.asked", "1");
      input.value = "";
      dialog.showModal();
      input.focus();
      form.onsubmit = (event) => {
        event.preventDefault();
        setToken(input.value);
        dialog.close();
        forget.hidden = false;
        waiting = null;
        resolve();
      };
    });
  }
  return waiting;
});

dialog.addEventListener("cancel", (event) => event.preventDefault()); // Escape keeps it open
forget.hidden = !token();
forget.addEventListener("click", () => {
  forgetToken();
  sessionStorage.removeItem("smithers.asked");
  location.reload();
});

/** What a view started (timers, streams), stopped when the view changes. */
class Life {
  constructor() {
    this.ended = false;
    this.stops = [];
  }

  every(ms, fn) {
    const id = setInterval(() => { if (!document.hidden) fn(); }, ms);
    this.stops.push(() => clearInterval(id));
  }

  onEnd(fn) {
    this.stops.push(fn);
  }

  end() {
    this.ended = true;
    for (const stop of this.stops) stop();
  }
}

let life = new Life();
let routed = false;

async function route() {
  life.end();
  life = new Life();
  const [path, search] = (location.hash.slice(1) || "/runs").split("?");
  const query = new URLSearchParams(search || "");
  const parts = path.split("/").filter(Boolean);
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.setAttribute("aria-current", link.dataset.nav === parts[0] ? "page" : "false");
  }
  if (document.body.dataset.mode === "serve") {
    for (const link of document.querySelectorAll("nav a")) link.hidden = true;
    runPage(main, await servedRunId(), life);
  } else if (parts[0] === "runs" && parts[1]) {
    runPage(main, decodeURIComponent(parts[1]), life);
  } else if (parts[0] === "approvals") {
    approvalsPage(main, life);
  } else {
    runsPage(main, query, life);
  }
  if (routed) main.focus({ preventScroll: true }); // a new view: the reader starts at it
  routed = true;
}

window.addEventListener("hashchange", route);
route();
