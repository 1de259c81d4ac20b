"""Reading a run's Server-Sent Events across reconnections, without gaps or repeats.

``EventCursor`` holds everything the sync and async iterators share: the SSE parser (the
one of ``smithers.sse``, fed the lines httpx splits), the last ``seq`` yielded (the
``afterSeq`` of the next connection), and the rules for when a closed stream means "done"
and when it means "reconnect".
"""

from __future__ import annotations

import msgspec

from smithers.client.calls import run_path
from smithers.client.errors import EventStreamError, error_from_response
from smithers.client.models import RunEvent
from smithers.sse import SSEMessage, SSEParser
from smithers.statuses import TERMINAL, TERMINAL_EVENTS

__all__ = ["TERMINAL_EVENTS", "TERMINAL_STATUSES", "EventCursor", "SSEMessage", "SSEParser"]

TERMINAL_STATUSES = TERMINAL
"""Run statuses whose stream the server closes once every event is sent."""

DEFAULT_RETRY_MS = 1000


class EventCursor:
    """Position and reconnection policy of one ``events()`` iteration."""

    def __init__(self, run_id: str, after_seq: int, max_retries: int) -> None:
        self.run_id = run_id
        self.last_seq = after_seq
        self.max_retries = max_retries
        self.path = run_path(run_id, "events")
        self.finished = False
        """A terminal event was yielded: a clean end of stream is the end."""
        self._failures = 0
        self._retry_ms = DEFAULT_RETRY_MS
        self._parser = SSEParser()
        self._yielded_on_connection = 0

    @property
    def params(self) -> dict[str, int]:
        """Query of the next connection: resume after the last event yielded."""
        return {"afterSeq": self.last_seq}

    @property
    def headers(self) -> dict[str, str]:
        """Headers of the next connection."""
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_seq >= 0:
            headers["Last-Event-ID"] = str(self.last_seq)
        return headers

    @property
    def delay(self) -> float:
        """Seconds to wait before reconnecting (the server's ``retry``, default 1 s)."""
        return self._retry_ms / 1000

    def connected(self, status: int, content: bytes = b"") -> bool:
        """Whether to read this response: 200 yes; 4xx raises; 5xx counts as a failure."""
        if status != 200:
            error = error_from_response(status, content)
            if status < 500:
                raise error
            self.failed(error)
            return False
        self._parser = SSEParser()
        self._yielded_on_connection = 0
        return True

    def feed(self, line: str) -> RunEvent | None:
        """The event a line completes, unless it was already yielded."""
        message = self._parser.feed_line(line)
        if self._parser.retry_ms is not None:
            self._retry_ms = self._parser.retry_ms
        if message is None or message.event != "smithers":
            return None
        if message.id is None or not message.id.lstrip("-").isdigit():
            raise EventStreamError(f"event without a numeric id on {self.path}: {message!r}")
        seq = int(message.id)
        if seq <= self.last_seq:
            return None
        try:
            data = msgspec.json.decode(message.data)
        except msgspec.DecodeError as exc:
            raise EventStreamError(f"event {seq} of {self.run_id} is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise EventStreamError(f"event {seq} of {self.run_id} is not a JSON object")
        kind = str(data.get("type", ""))
        self.last_seq = seq
        self._failures = 0
        self._yielded_on_connection += 1
        self.finished = self.finished or kind in TERMINAL_EVENTS
        return RunEvent(seq=seq, type=kind, data=data)

    def failed(self, error: Exception) -> None:
        """The connection dropped or was refused; give up after ``max_retries`` in a row."""
        self._failures += 1
        if self._failures > self.max_retries:
            raise EventStreamError(
                f"event stream of {self.run_id} failed {self._failures} times in a row: {error}"
            ) from error

    def needs_status(self) -> bool:
        """After a clean end without a terminal event: ask the run's status when it sent nothing.

        A stream that delivered events and then closed is simply reopened; one that closed
        without sending anything is over only if the run is terminal.
        """
        return not self.finished and self._yielded_on_connection == 0

    def status_seen(self, status: str) -> bool:
        """Whether the run's status ends the iteration (else it counts as a failed attempt)."""
        if status in TERMINAL_STATUSES:
            return True
        self.failed(EventStreamError(f"stream of a {status} run closed without events"))
        return False
