// Server-Sent Events read with fetch streaming, so the token travels as a header and never
// in a URL: an incremental parser (any chunking, CRLF or LF) and one connection's reader.
import { authHeaders, reauthenticate } from "./api.js";

export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = "";
    this.reset();
  }

  reset() {
    this.data = [];
    this.type = "message";
    this.id = null;
  }

  feed(text) {
    this.buffer += text;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) return;
      if (match[0] === "\r" && match.index === this.buffer.length - 1) return; // maybe \r\n
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line);
    }
  }

  line(line) {
    if (line === "") {
      if (this.data.length) this.onEvent({ id: this.id, type: this.type, data: this.data.join("\n") });
      this.reset();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.type = value;
    else if (field === "id") this.id = value;
  }
}

/**
 * Read one connection of ``path`` until the server closes it; ``onEvent`` gets each event.
 * Returns the last event id seen (for ``Last-Event-ID`` on the next connection).
 */
export async function readStream(path, lastId, onEvent, signal) {
  for (;;) {
    const headers = authHeaders({ accept: "text/event-stream" });
    if (lastId !== null && lastId !== undefined) headers["last-event-id"] = String(lastId);
    const response = await fetch(path, { headers, signal, cache: "no-store" });
    if (response.status === 401) {
      await reauthenticate();
      continue;
    }
    if (!response.ok || !response.body) throw new Error(`event stream answered ${response.status}`);
    let last = lastId;
    const parser = new SseParser((event) => {
      if (event.id !== null) last = Number(event.id);
      onEvent(event);
    });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    parser.feed(decoder.decode());
    return last;
  }
}
