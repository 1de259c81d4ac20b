"""What running attempts report between two of the loop's commits: log lines and heartbeats.

``TaskContext.log`` and ``TaskContext.heartbeat`` may be called from the event loop or from a
worker thread; both land here, in order, on the loop's thread. Log lines are committed at
once (with the loop's next commit, or by a flush of their own); heartbeats are written at
most every ``HEARTBEAT_WRITE_INTERVAL_MS`` per attempt, and the last one recorded before an
attempt ends is taken into the commit of that end.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import msgspec

from smithers import metrics
from smithers.engine import events as ev
from smithers.engine.attempts import Output
from smithers.engine.run_model import AttemptInfo, Key, NodeInfo
from smithers.engine.tree import Leaf
from smithers.store.batch import Batch
from smithers.store.rows import AttemptUpdate, ToolCallRow, ToolCallUpdate, TranscriptRow

__all__ = [
    "HEARTBEAT_WRITE_INTERVAL_MS",
    "NODE_OUTPUT_LIMIT",
    "Pending",
    "RunningAttempt",
    "SideChannel",
]

NODE_OUTPUT_LIMIT = 64 * 1024
"""``NodeOutput`` text is cut at this many bytes per event."""

HEARTBEAT_WRITE_INTERVAL_MS = 500
"""Heartbeats of one attempt are written at most this often."""


@dataclass(slots=True, eq=False)
class RunningAttempt:
    """An attempt whose function this process executes now."""

    leaf: Leaf
    info: NodeInfo
    attempt: AttemptInfo
    task: asyncio.Task[None] | None = None
    done: bool = False
    """The function returned or raised; the loop writes the end with its next pass."""
    output: Output | None = None
    error: Exception | None = None
    heartbeat: tuple[Any, int] | None = None
    heartbeat_written_ms: int = 0


@dataclass(slots=True)
class Pending:
    """Rows and events waiting for the next commit, and what to apply once it succeeded."""

    batch: Batch = field(default_factory=Batch)
    after: list[Callable[[], None]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.batch)

    def put_first_into(self, batch: Batch, after: list[Callable[[], None]]) -> None:
        """Put these rows and events ahead of ``batch``'s own (and the updates of ``after``)."""
        batch.merge(self.batch)
        after[:0] = self.after


class SideChannel:
    """Log lines and heartbeats of one run's running attempts, gathered for its commits."""

    def __init__(
        self,
        run_id: str,
        running: dict[Key, RunningAttempt],
        clock: Callable[[], int],
        flush: Callable[[], Awaitable[None]],
    ) -> None:
        self.run_id = run_id
        self.running = running
        """The loop's own map of running attempts (shared, not copied)."""
        self.clock = clock
        self._flush_commit = flush
        self._pending = Pending()
        self._handle: asyncio.Handle | None = None
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    def reporters(
        self, item: RunningAttempt
    ) -> tuple[Callable[[str, str], None], Callable[[Any, int], None]]:
        """``on_log`` and ``on_heartbeat`` for the attempt's ``TaskContext``.

        From the event loop's thread a call is direct (so an async task's last log lands
        before its end is written); from a worker thread it is handed over in order.
        """

        def on_log(text: str, stream: str) -> None:
            if threading.get_ident() == self._loop_thread:
                self._log(item, text, stream)
            else:
                self._loop.call_soon_threadsafe(self._log, item, text, stream)

        def on_heartbeat(data: Any, size: int) -> None:
            if threading.get_ident() == self._loop_thread:
                self._heartbeat(item, data, size)
            else:
                self._loop.call_soon_threadsafe(self._heartbeat, item, data, size)

        return on_log, on_heartbeat

    def has_pending(self) -> bool:
        """Whether rows or events wait for a commit."""
        return bool(self._pending)

    def take(self) -> Pending:
        """What is pending, for a commit (the channel starts empty again)."""
        pending, self._pending = self._pending, Pending()
        return pending

    def restore(self, pending: Pending) -> None:
        """Put back what a commit that did not happen took, before anything added since."""
        pending.put_first_into(self._pending.batch, self._pending.after)

    def take_heartbeat(self, item: RunningAttempt, now: int) -> None:
        """Move an attempt's recorded checkpoint into the next commit."""
        if item.heartbeat is None:
            return
        data, size = item.heartbeat
        item.heartbeat = None
        item.heartbeat_written_ms = now
        data_json = None if data is None else msgspec.json.encode(data).decode()
        self._pending.batch.write(
            AttemptUpdate(
                run_id=self.run_id,
                node_id=item.leaf.id,
                iteration=item.leaf.iteration,
                attempt=item.attempt.attempt,
                heartbeat_at_ms=now,
                heartbeat_data_json=data_json,
            )
        )
        self._pending.batch.emit(
            ev.TaskHeartbeat(
                **_attempt_fields(self.run_id, item, now),
                has_data=data is not None,
                data_size_bytes=size,
            )
        )
        if data_json is not None:
            attempt = item.attempt
            self._pending.after.append(partial(setattr, attempt, "heartbeat_data_json", data_json))

    def record_tool_call(
        self,
        item: RunningAttempt,
        event: ev.Event,
        *,
        insert: ToolCallRow | None = None,
        update: ToolCallUpdate | None = None,
    ) -> bool:
        """Queue a tool call's row and event for the next commit; False (nothing queued) when
        the attempt no longer runs here."""
        if not self._current(item):
            return False
        if insert is not None:
            self._pending.batch.write(insert)
        if update is not None:
            self._pending.batch.write(update)
        self._pending.batch.emit(event)
        self._schedule(0.0)
        return True

    def record_turn(self, item: RunningAttempt, row: TranscriptRow) -> bool:
        """Queue a transcript row; False when the attempt no longer runs here."""
        if not self._current(item):
            return False
        self._pending.batch.write(row)
        return True

    async def commit_now(self) -> None:
        """Commit what is pending now (and wait for it)."""
        if self._pending:
            await self._flush_commit()

    def close(self) -> None:
        """No more flushes (the loop has ended)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _current(self, item: RunningAttempt) -> bool:
        return not item.done and self.running.get(item.leaf.key) is item

    def usage_reporter(self, item: RunningAttempt) -> Callable[[str, str, dict[str, int]], None]:
        """``on_usage`` for the attempt's ``TaskContext`` (called on the event loop)."""

        def on_usage(agent: str, model: str, usage: dict[str, int]) -> None:
            metrics.count_tokens(agent, model, usage)
            if not self._current(item):
                return
            self._pending.batch.emit(
                ev.TokenUsageReported(
                    run_id=self.run_id,
                    timestamp_ms=self.clock(),
                    node_id=item.leaf.id,
                    iteration=item.leaf.iteration,
                    attempt=item.attempt.attempt,
                    agent=agent,
                    model=model,
                    **usage,
                )
            )
            self._schedule(0.0)

        return on_usage

    def _log(self, item: RunningAttempt, text: str, stream: str = "stdout") -> None:
        if not self._current(item):
            return
        encoded = text.encode()
        if len(encoded) > NODE_OUTPUT_LIMIT:
            text = encoded[:NODE_OUTPUT_LIMIT].decode(errors="ignore")
        self._pending.batch.emit(
            ev.NodeOutput(
                **_attempt_fields(self.run_id, item, self.clock()), text=text, stream=stream
            )
        )
        self._schedule(0.0)

    def _heartbeat(self, item: RunningAttempt, data: Any, size: int) -> None:
        if not self._current(item):
            return
        item.heartbeat = (data, size)
        due = item.heartbeat_written_ms + HEARTBEAT_WRITE_INTERVAL_MS - self.clock()
        self._schedule(max(0.0, due / 1000))

    def _schedule(self, delay: float) -> None:
        if self._handle is None:
            self._handle = self._loop.call_later(delay, self._start_flush)

    def _start_flush(self) -> None:
        self._handle = None
        task = asyncio.create_task(self._flush())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _flush(self) -> None:
        now = self.clock()
        for item in self.running.values():
            if item.heartbeat is None or item.done:
                continue
            since = now - item.heartbeat_written_ms
            if since < HEARTBEAT_WRITE_INTERVAL_MS:
                self._schedule((HEARTBEAT_WRITE_INTERVAL_MS - since) / 1000)
                continue
            self.take_heartbeat(item, now)
        if self._pending:
            await self._flush_commit()


def _attempt_fields(run_id: str, item: RunningAttempt, timestamp_ms: int) -> dict[str, Any]:
    """The fields every event of a running attempt carries."""
    leaf = item.leaf
    return {
        "run_id": run_id,
        "timestamp_ms": timestamp_ms,
        "node_id": leaf.id,
        "iteration": leaf.iteration,
        "attempt": item.attempt.attempt,
    }
