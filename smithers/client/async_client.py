"""``AsyncClient``: the asyncio Smithers HTTP client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
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

__all__ = ["AsyncClient"]

T = TypeVar("T")


class AsyncClient:
    """An asyncio client for one Smithers server; error statuses raise ``SmithersHTTPError``."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        token: str | None = None,
        timeout: float = 10.0,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=auth_headers(token), timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _send(self, call: Call[T]) -> T:
        response = await self._http.request(
            call.method, call.path, params=call.params, content=call.content, headers=call.headers
        )
        return call.result(response.status_code, response.content)

    async def start_run(
        self,
        workflow_path: str,
        input: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        resume: bool = False,
        max_concurrency: int | None = None,
    ) -> RunRef:
        """Start a run of a workflow file (relative to the server's root), or resume one."""
        return await self._send(
            calls.start_run(workflow_path, input, run_id, resume, max_concurrency)
        )

    async def resume_run(
        self,
        run_id: str,
        *,
        workflow_path: str | None = None,
        input: Mapping[str, Any] | None = None,
        max_concurrency: int | None = None,
    ) -> ResumeResult:
        """Continue a run from its last checkpoint (a no-op for a run that is running)."""
        return await self._send(calls.resume_run(run_id, workflow_path, input, max_concurrency))

    async def cancel_run(self, run_id: str) -> RunRef:
        """Cancel a run that is not terminal yet."""
        return await self._send(calls.cancel_run(run_id))

    async def get_run(self, run_id: str) -> Run:
        """A run's status, timestamps, node counts and error."""
        return await self._send(calls.get_run(run_id))

    async def list_runs(
        self,
        *,
        limit: int | None = None,
        status: str | None = None,
        workflow: str | None = None,
        before: RunRecord | None = None,
    ) -> list[RunRecord]:
        """Runs of the server database, newest first; ``before``: the last run of the
        previous page (the runs older than it come next)."""
        return await self._send(calls.list_runs(limit, status, workflow, before))

    async def run_counts(self, *, workflow: str | None = None) -> RunCounts:
        """How many runs have each status (of one workflow, when given)."""
        return await self._send(calls.run_counts(workflow))

    async def list_nodes(self, run_id: str) -> list[Node]:
        """The run's nodes with their attempts and outputs."""
        return await self._send(calls.list_nodes(run_id))

    async def list_tool_calls(self, run_id: str) -> list[ToolCall]:
        """The run's tool calls, in the order they started."""
        return await self._send(calls.list_tool_calls(run_id))

    async def run_input(self, run_id: str) -> Any:
        """The input the run was started with."""
        return (await self._send(calls.run_input(run_id))).input

    async def transcript(self, run_id: str) -> list[Turn]:
        """The committed turns of the run's agent tasks."""
        return await self._send(calls.transcript(run_id))

    async def list_frames(
        self, run_id: str, *, limit: int | None = None, after_frame_no: int | None = None
    ) -> list[Frame]:
        """The newest frames (newest first), or those after ``after_frame_no`` (oldest first)."""
        return await self._send(calls.list_frames(run_id, limit, after_frame_no))

    async def approve(
        self,
        run_id: str,
        node_id: str,
        *,
        iteration: int = 0,
        note: str | None = None,
        decided_by: str | None = None,
    ) -> Decision:
        """Approve a node waiting for a decision; a suspended run continues by itself."""
        return await self._send(
            calls.decide(run_id, node_id, "approve", iteration, note, decided_by)
        )

    async def deny(
        self,
        run_id: str,
        node_id: str,
        *,
        iteration: int = 0,
        note: str | None = None,
        decided_by: str | None = None,
    ) -> Decision:
        """Deny a node waiting for a decision; a suspended run continues by itself."""
        return await self._send(calls.decide(run_id, node_id, "deny", iteration, note, decided_by))

    async def signal(
        self,
        run_id: str,
        signal_name: str,
        data: Any = msgspec.UNSET,
        *,
        correlation_id: str | None = None,
        received_by: str | None = None,
    ) -> SignalReceipt:
        """Send a signal to a run (``data`` is any JSON; omitted means ``{}``)."""
        return await self._send(
            calls.signal(run_id, signal_name, data, correlation_id, received_by)
        )

    async def list_approvals(self) -> list[PendingApproval]:
        """Approvals still waiting for a decision, oldest first."""
        return await self._send(calls.list_approvals())

    async def health(self) -> Health:
        """``{"ok": true}`` when the server is up (no token needed)."""
        return await self._send(calls.health())

    async def metrics(self) -> str:
        """The Prometheus text exposition."""
        return await self._send(calls.metrics())

    async def events(
        self,
        run_id: str,
        after_seq: int = -1,
        *,
        read_timeout: float = 30.0,
        max_retries: int = 5,
    ) -> AsyncIterator[RunEvent]:
        """Every event of a run with a greater ``seq``, live, until the run is terminal.

        A dropped connection (or silence longer than ``read_timeout``) is reopened after the
        server's ``retry`` delay, resuming after the last event yielded: no event is missed or
        yielded twice. ``EventStreamError`` after ``max_retries`` failures in a row.
        """
        cursor = EventCursor(run_id, after_seq, max_retries)
        timeout = httpx.Timeout(self.timeout, read=read_timeout)
        while True:
            try:
                async with self._http.stream(
                    "GET",
                    cursor.path,
                    params=cursor.params,
                    headers=cursor.headers,
                    timeout=timeout,
                ) as response:
                    body = b"" if response.status_code == 200 else await response.aread()
                    if cursor.connected(response.status_code, body):
                        async for line in response.aiter_lines():
                            event = cursor.feed(line)
                            if event is not None:
                                yield event
                        if cursor.finished:
                            return
                        if cursor.needs_status() and cursor.status_seen(
                            (await self.get_run(run_id)).status
                        ):
                            return
            except httpx.TransportError as exc:
                cursor.failed(exc)
            await asyncio.sleep(cursor.delay)
