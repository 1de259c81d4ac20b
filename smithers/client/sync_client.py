"""``Client``: the blocking Smithers HTTP client."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx
import msgspec

from smithers.client import calls
from smithers.client.calls import DEFAULT_BASE_URL, Call, auth_headers
from smithers.client.models import (
    Decision,
    Frame,
    Health,
    Node,
    PendingApproval,
    ResumeResult,
    Run,
    RunCounts,
    RunEvent,
    RunRecord,
    RunRef,
    SignalReceipt,
    ToolCall,
    Turn,
)
from smithers.client.sse import EventCursor

__all__ = ["Client"]

T = TypeVar("T")


class Client:
    """A blocking client for one Smithers server; error statuses raise ``SmithersHTTPError``."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        token: str | None = None,
        timeout: float = 10.0,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=base_url, headers=auth_headers(token), timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _send(self, call: Call[T]) -> T:
        response = self._http.request(
            call.method, call.path, params=call.params, content=call.content, headers=call.headers
        )
        return call.result(response.status_code, response.content)

    def start_run(
        self,
        workflow_path: str,
        input: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        resume: bool = False,
        max_concurrency: int | None = None,
    ) -> RunRef:
        """Start a run of a workflow file (relative to the server's root), or resume one."""
        return self._send(calls.start_run(workflow_path, input, run_id, resume, max_concurrency))

    def resume_run(
        self,
        run_id: str,
        *,
        workflow_path: str | None = None,
        input: Mapping[str, Any] | None = None,
        max_concurrency: int | None = None,
    ) -> ResumeResult:
        """Continue a run from its last checkpoint (a no-op for a run that is running)."""
        return self._send(calls.resume_run(run_id, workflow_path, input, max_concurrency))

    def cancel_run(self, run_id: str) -> RunRef:
        """Cancel a run that is not terminal yet."""
        return self._send(calls.cancel_run(run_id))

    def get_run(self, run_id: str) -> Run:
        """A run's status, timestamps, node counts and error."""
        return self._send(calls.get_run(run_id))

    def list_runs(
        self,
        *,
        limit: int | None = None,
        status: str | None = None,
        workflow: str | None = None,
        before: RunRecord | None = None,
    ) -> list[RunRecord]:
        """Runs of the server database, newest first; ``before``: the last run of the
        previous page (the runs older than it come next)."""
        return self._send(calls.list_runs(limit, status, workflow, before))

    def run_counts(self, *, workflow: str | None = None) -> RunCounts:
        """How many runs have each status (of one workflow, when given)."""
        return self._send(calls.run_counts(workflow))

    def list_nodes(self, run_id: str) -> list[Node]:
        """The run's nodes with their attempts and outputs."""
        return self._send(calls.list_nodes(run_id))

    def list_tool_calls(self, run_id: str) -> list[ToolCall]:
        """The run's tool calls, in the order they started."""
        return self._send(calls.list_tool_calls(run_id))

    def run_input(self, run_id: str) -> Any:
        """The input the run was started with."""
        return (self._send(calls.run_input(run_id))).input

    def transcript(self, run_id: str) -> list[Turn]:
        """The committed turns of the run's agent tasks."""
        return self._send(calls.transcript(run_id))

    def list_frames(
        self, run_id: str, *, limit: int | None = None, after_frame_no: int | None = None
    ) -> list[Frame]:
        """The newest frames (newest first), or those after ``after_frame_no`` (oldest first)."""
        return self._send(calls.list_frames(run_id, limit, after_frame_no))

    def approve(
        self,
        run_id: str,
        node_id: str,
        *,
        iteration: int = 0,
        note: str | None = None,
        decided_by: str | None = None,
    ) -> Decision:
        """Approve a node waiting for a decision; a suspended run continues by itself."""
        return self._send(calls.decide(run_id, node_id, "approve", iteration, note, decided_by))

    def deny(
        self,
        run_id: str,
        node_id: str,
        *,
        iteration: int = 0,
        note: str | None = None,
        decided_by: str | None = None,
    ) -> Decision:
        """Deny a node waiting for a decision; a suspended run continues by itself."""
        return self._send(calls.decide(run_id, node_id, "deny", iteration, note, decided_by))

    def signal(
        self,
        run_id: str,
        signal_name: str,
        data: Any = msgspec.UNSET,
        *,
        correlation_id: str | None = None,
        received_by: str | None = None,
    ) -> SignalReceipt:
        """Send a signal to a run (``data`` is any JSON; omitted means ``{}``)."""
        return self._send(calls.signal(run_id, signal_name, data, correlation_id, received_by))

    def list_approvals(self) -> list[PendingApproval]:
        """Approvals still waiting for a decision, oldest first."""
        return self._send(calls.list_approvals())

    def health(self) -> Health:
        """``{"ok": true}`` when the server is up (no token needed)."""
        return self._send(calls.health())

    def metrics(self) -> str:
        """The Prometheus text exposition."""
        return self._send(calls.metrics())

    def events(
        self,
        run_id: str,
        after_seq: int = -1,
        *,
        read_timeout: float = 30.0,
        max_retries: int = 5,
    ) -> Iterator[RunEvent]:
        """Every event of a run with a greater ``seq``, live, until the run is terminal.

        A dropped connection (or silence longer than ``read_timeout``) is reopened after the
        server's ``retry`` delay, resuming after the last event yielded: no event is missed or
        yielded twice. ``EventStreamError`` after ``max_retries`` failures in a row.
        """
        cursor = EventCursor(run_id, after_seq, max_retries)
        timeout = httpx.Timeout(self.timeout, read=read_timeout)
        while True:
            try:
                with self._http.stream(
                    "GET",
                    cursor.path,
                    params=cursor.params,
                    headers=cursor.headers,
                    timeout=timeout,
                ) as response:
                    body = b"" if response.status_code == 200 else response.read()
                    if cursor.connected(response.status_code, body):
                        for line in response.iter_lines():
                            event = cursor.feed(line)
                            if event is not None:
                                yield event
                        if cursor.finished:
                            return
                        if cursor.needs_status() and cursor.status_seen(
                            self.get_run(run_id).status
                        ):
                            return
            except httpx.TransportError as exc:
                cursor.failed(exc)
            time.sleep(cursor.delay)
