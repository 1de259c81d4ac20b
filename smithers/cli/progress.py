"""Plain, one-line-per-event progress for logs and pipes."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Protocol, TextIO

__all__ = ["PlainProgress", "Progress", "describe_event"]


class Progress(Protocol):
    """Shows a run's progress on stderr while it runs in the foreground."""

    def on_event(self, payload_json: str) -> None:
        """Take one stored event of the run."""

    def notice(self, text: str) -> None:
        """Show a message (an interruption, a warning)."""

    def start(self) -> None:
        """Begin showing."""

    async def close(self) -> None:
        """Stop, leaving the final state shown."""


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("name") or error)
    return str(error)


def tool_call_text(event: dict[str, Any]) -> str:
    """A tool call's start or end in a few words: ``⚙ bash …``, ``⚙ bash ok 31 ms``."""
    tool = event.get("tool", "?")
    if event.get("type") == "ToolCallStarted":
        return f"⚙ {tool} …"
    if event.get("status") == "ok":
        return f"⚙ {tool} ok {event.get('durationMs', 0)} ms"
    return f"⚙ {tool} failed: {_error_text(event.get('error'))}"


def describe_event(event: dict[str, Any]) -> str | None:
    """The progress line of an event, or ``None`` for events not worth a line."""
    kind = event.get("type")
    node = event.get("nodeId", "")
    if event.get("iteration"):
        node = f"{node}[{event['iteration']}]"
    match kind:
        case "NodeStarted":
            return f"→ {node} (attempt {event.get('attempt')})"
        case "NodeFinished":
            return f"✓ {node}"
        case "NodeFailed":
            return f"✗ {node}: {_error_text(event.get('error'))}"
        case "NodeRetrying":
            return f"↻ {node} retrying (attempt {event.get('attempt')})"
        case "NodeSkipped":
            return f"↷ {node} skipped"
        case "NodeCancelled":
            return f"⊘ {node} cancelled ({event.get('reason')})"
        case "NodeWaitingApproval":
            return f"⏸ {node} waiting for approval"
        case "NodeWaitingTimer":
            fires = time.strftime("%H:%M:%S", time.localtime(event.get("firesAtMs", 0) / 1000))
            return f"⏲ {node} waiting until {fires}"
        case "NodeOutput":
            return f"  {node}: {event.get('text', '')}"
        case "ToolCallStarted" | "ToolCallFinished":
            return f"  {node}: {tool_call_text(event)}"
        case "RunFinished":
            return "✓ Run finished"
        case "RunFailed":
            return f"✗ Run failed: {_error_text(event.get('error'))}"
        case "RunCancelled":
            return "⊘ Run cancelled"
        case "RunStatusChanged":
            return f"⏸ Run {event.get('status')}"
        case "SignalReceived":
            return f"✉ signal {event.get('signalName')}"
    return None


class PlainProgress:
    """Writes ``[HH:MM:SS] <line>`` for each lifecycle event."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream

    def on_event(self, payload_json: str) -> None:
        """Print the line of one stored event."""
        event = json.loads(payload_json)
        line = describe_event(event)
        if line is None:
            return
        stamp = time.strftime("%H:%M:%S", time.localtime(event.get("timestampMs", 0) / 1000))
        self.stream.write(f"[{stamp}] {line}\n")
        self.stream.flush()

    def notice(self, text: str) -> None:
        """Print a message on its own line."""
        self.stream.write(f"{text}\n")
        self.stream.flush()

    def start(self) -> None:
        """Nothing to prepare: lines are printed as events arrive."""

    async def close(self) -> None:
        """Nothing to finish: every line is already printed."""
