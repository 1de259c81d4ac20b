// The event log of a run: every event kept, only the rows in view in the page (a fixed row
// height, so 10,000 events cost a few dozen elements), filterable by type and by node.
const ROW_HEIGHT = 26;
const OVERSCAN = 10;

function time(ms) {
  return ms ? new Date(ms).toISOString().slice(11, 23) : "";
}

function detail(event) {
  if (event.text !== undefined) return event.text;
  if (event.error) return `${event.error.name || "Error"}: ${event.error.message || ""}`;
  if (event.status) return event.status;
  if (event.signalName) return event.signalName;
  if (event.tool) return event.tool;
  if (event.attempt !== undefined) return `attempt ${event.attempt}`;
  return "";
}

export class EventLog {
  constructor(container) {
    this.events = [];
    this.shown = [];
    this.typeFilter = "";
    this.nodeFilter = "";
    this.follow = true;
    this.container = container;
    this.viewport = document.createElement("div");
    this.viewport.className = "log-viewport";
    this.viewport.tabIndex = 0;
    this.viewport.setAttribute("role", "log");
    this.viewport.setAttribute("aria-label", "Events");
    this.spacer = document.createElement("div");
    this.spacer.className = "log-spacer";
    this.rows = document.createElement("ol");
    this.rows.className = "log-rows";
    this.spacer.append(this.rows);
    this.viewport.append(this.spacer);
    container.append(this.viewport);
    this.pending = false;
    this.viewport.addEventListener("scroll", () => {
      const bottom = this.viewport.scrollHeight - this.viewport.clientHeight;
      this.follow = this.viewport.scrollTop >= bottom - ROW_HEIGHT;
      this.schedule();
    });
  }

  matches(event) {
    return (!this.typeFilter || event.type === this.typeFilter) && (!this.nodeFilter || event.nodeId === this.nodeFilter);
  }

  add(events) {
    for (const event of events) {
      this.events.push(event);
      if (this.matches(event)) this.shown.push(event);
    }
    this.schedule();
  }

  setFilter(type, node) {
    this.typeFilter = type;
    this.nodeFilter = node;
    this.shown = this.events.filter((e) => this.matches(e));
    this.follow = true;
    this.schedule();
  }

  types() {
    return [...new Set(this.events.map((e) => e.type))].sort();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  render() {
    const total = this.shown.length;
    this.spacer.style.height = `${total * ROW_HEIGHT}px`;
    if (this.follow) this.viewport.scrollTop = this.viewport.scrollHeight;
    const top = this.viewport.scrollTop;
    const height = this.viewport.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(total, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    this.rows.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    const items = [];
    for (let index = first; index < last; index += 1) {
      const event = this.shown[index];
      const row = document.createElement("li");
      row.className = `log-row type-${event.type}`;
      row.dataset.seq = event.seq;
      const cells = [String(event.seq), time(event.timestampMs), event.type, event.nodeId || "", detail(event)];
      for (const text of cells) {
        const cell = document.createElement("span");
        cell.textContent = text;
        row.append(cell);
      }
      items.push(row);
    }
    this.rows.replaceChildren(...items);
    this.container.dataset.count = String(total);
  }
}
