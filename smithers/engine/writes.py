"""Batch builders: each state change of a run as rows plus the events that describe it.

A ``Change`` holds a batch and the updates to apply to the in-memory model once the batch is
committed (never before: a failed commit must leave the model as the store has it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from msgspec import UNSET

from smithers.authoring.nodes import Task
from smithers.engine import events as ev
from smithers.engine.attempts import Output, error_json
from smithers.engine.run_model import AttemptInfo, NodeInfo, RunModel
from smithers.engine.tree import Leaf
from smithers.statuses import AttemptState, NodeState, RunStatus
from smithers.store.attempt_meta import (
    AttemptMeta,
    TaskMeta,
    TimerMeta,
    encode_meta,
)
from smithers.store.batch import Batch, TypedOutput
from smithers.store.rows import AttemptRow, AttemptUpdate, LoopRow, OutputRow, RunUpdate

__all__ = ["Change", "json_text", "timer_fires_at"]

_json = msgspec.json.Encoder()


def json_text(value: Any) -> str:
    """``value`` as JSON text, for a ``*_json`` column."""
    return _json.encode(value).decode()


def timer_fires_at(attempt: AttemptInfo, default: int) -> int:
    """When a timer's attempt fires (``default`` for an attempt without a timer's meta)."""
    return attempt.meta.fires_at_ms if isinstance(attempt.meta, TimerMeta) else default


@dataclass(slots=True)
class Change:
    """A batch for one transaction and the model updates that follow its commit."""

    model: RunModel
    now: int
    batch: Batch = field(default_factory=Batch)
    after: list[Callable[[], None]] = field(default_factory=list)
    carries_ends: bool = False
    """The batch holds ends of attempts already applied to the model (see RunLoop)."""

    @property
    def run_id(self) -> str:
        """The run this change belongs to."""
        return self.model.run_id

    def applied(self) -> None:
        """Apply the model updates (call after a successful commit)."""
        for update in self.after:
            update()
        self.after.clear()

    # --- rows --------------------------------------------------------------------------

    def set_node(self, info: NodeInfo, state: str, *, last_attempt: int | None = None) -> None:
        """Write a node row with a new state (a node written twice in one batch keeps its last
        row: the store folds upserts of one key)."""
        self.batch.write(info.row(self.run_id, self.now, state, last_attempt))

        def update() -> None:
            info.state = state
            if last_attempt is not None:
                info.last_attempt = last_attempt

        self.after.append(update)

    def add_attempt(
        self,
        info: NodeInfo,
        state: str,
        meta: AttemptMeta,
        *,
        finished: bool = False,
        error: dict[str, Any] | None = None,
    ) -> AttemptInfo:
        """Insert the node's next attempt."""
        attempt = AttemptInfo(
            info.next_attempt, state, self.now, self.now if finished else None, meta
        )
        self.batch.write(
            AttemptRow(
                **self._attempt_key(info, attempt),
                state=state,
                started_at_ms=self.now,
                finished_at_ms=attempt.finished_at_ms,
                error_json=None if error is None else json_text(error),
                meta_json=encode_meta(meta),
            )
        )
        self.after.append(lambda: info.attempts.append(attempt))
        return attempt

    def end_attempt(
        self,
        info: NodeInfo,
        attempt: AttemptInfo,
        state: str,
        *,
        error: dict[str, Any] | None = None,
        meta: AttemptMeta | None = None,
    ) -> None:
        """Close an attempt with a final state."""
        self.batch.write(
            AttemptUpdate(
                **self._attempt_key(info, attempt),
                state=state,
                finished_at_ms=self.now,
                error_json=None if error is None else json_text(error),
                meta_json=UNSET if meta is None else encode_meta(meta),
            )
        )

        def update() -> None:
            attempt.state = state
            attempt.finished_at_ms = self.now
            if meta is not None:
                attempt.meta = meta

        self.after.append(update)

    def put_output(self, info: NodeInfo, output: Output) -> None:
        """Store a node's output."""
        if output.table is not None:
            row = output.table.encode_row(self.run_id, info.node_id, info.iteration, output.value)
            self.batch.write(TypedOutput(output.table, row))
            table_name = output.table.name
        else:
            payload = output.untyped_json or json_text(output.value)
            self.batch.write(
                OutputRow(
                    run_id=self.run_id,
                    node_id=info.node_id,
                    iteration=info.iteration,
                    payload_json=payload,
                )
            )
            table_name = "_smithers_outputs"

        # The node row written after this (finish) must name the table; set it now.
        info.output_table = table_name
        self.after.append(
            lambda: self.model.outputs.put(info.node_id, info.iteration, output.value)
        )

    def _attempt_key(self, info: NodeInfo, attempt: AttemptInfo) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "node_id": info.node_id,
            "iteration": info.iteration,
            "attempt": attempt.attempt,
        }

    def emit(self, *events: ev.Event) -> None:
        """Add events to the batch."""
        self.batch.emit(*events)

    def base(self, info: NodeInfo) -> dict[str, Any]:
        """The fields every node event carries."""
        return {
            "run_id": self.run_id,
            "timestamp_ms": self.now,
            "node_id": info.node_id,
            "iteration": info.iteration,
        }

    # --- node transitions --------------------------------------------------------------

    def transition(
        self, leaf: Leaf, info: NodeInfo, state: NodeState, *, quiet: bool = False
    ) -> None:
        """Persist a computed state change and its event (pending, skipped, finished)."""
        self.set_node(info, state)
        if quiet:
            return
        if state is NodeState.PENDING:
            self.emit(ev.NodePending(**self.base(info)))
        elif state is NodeState.SKIPPED:
            self.emit(ev.NodeSkipped(**self.base(info)))

    def start_attempt(self, leaf: Leaf, info: NodeInfo, *, announce_pending: bool) -> AttemptInfo:
        """Insert an in-progress attempt (the one transaction that starts it)."""
        if announce_pending:
            self.emit(ev.NodePending(**self.base(info)))
        attempt = self.add_attempt(info, AttemptState.IN_PROGRESS, TaskMeta(label=leaf.label))
        info.label = leaf.label
        self.set_node(info, NodeState.IN_PROGRESS, last_attempt=attempt.attempt)
        self.emit(ev.NodeStarted(**self.base(info), attempt=attempt.attempt))
        return attempt

    def finish_attempt(
        self, info: NodeInfo, attempt: AttemptInfo, output: Output, meta: AttemptMeta | None = None
    ) -> None:
        """Output row, attempt (and its new ``meta``) and node finished, ``NodeFinished``."""
        self.put_output(info, output)
        self.end_attempt(info, attempt, AttemptState.FINISHED, meta=meta)
        self.set_node(info, NodeState.FINISHED, last_attempt=attempt.attempt)
        self.emit(ev.NodeFinished(**self.base(info), attempt=attempt.attempt))

    def fail_attempt(
        self, leaf: Leaf, info: NodeInfo, attempt: AttemptInfo, exc: BaseException
    ) -> bool:
        """Attempt failed: ``NodeFailed``, and ``NodeRetrying`` when retries remain."""
        error = error_json(exc)
        self.end_attempt(info, attempt, AttemptState.FAILED, error=error)
        failed = info.failed_count + 1
        retries = leaf.node.retries if isinstance(leaf.node, Task) else 0
        will_retry = failed < retries + 1 + info.extra_attempts
        state = NodeState.PENDING if will_retry else NodeState.FAILED
        self.set_node(info, state, last_attempt=attempt.attempt)
        self.emit(ev.NodeFailed(**self.base(info), attempt=attempt.attempt, error=error))
        if will_retry:
            self.emit(ev.NodeRetrying(**self.base(info), attempt=attempt.attempt + 1))
        return will_retry

    def set_loop(self, loop_id: str, iteration: int, done: bool, *, was: int) -> None:
        """A loop moves to ``iteration`` (from ``was``) or is ``done``."""
        self.batch.write(
            LoopRow(
                run_id=self.run_id,
                ralph_id=loop_id,
                iteration=iteration,
                done=int(done),
                updated_at_ms=self.now,
            )
        )

        def update() -> None:
            self.model.loops[loop_id] = (iteration, done)
            self.model.outputs.loop_iterations[loop_id] = iteration
            if iteration != was:
                self.model.forget_iteration(loop_id, was)

        self.after.append(update)

    # --- the run as a whole ------------------------------------------------------------

    def end_run(self, status: RunStatus, *, error: Any = None) -> None:
        """Terminal status and its event; the run has no owner any more."""
        self.batch.write(
            RunUpdate(
                run_id=self.run_id,
                status=status.value,
                finished_at_ms=self.now,
                heartbeat_at_ms=None,
                runtime_owner_id=None,
                cancel_requested_at_ms=None,
                wake_at_ms=None,
                updated_at_ms=self.now,
                error_json=None if error is None else json_text(error),
            )
        )
        run_id, now = self.run_id, self.now
        if status is RunStatus.FINISHED:
            self.emit(ev.RunFinished(run_id=run_id, timestamp_ms=now))
        elif status is RunStatus.FAILED:
            self.emit(ev.RunFailed(run_id=run_id, timestamp_ms=now, error=error))
        else:
            self.emit(ev.RunCancelled(run_id=run_id, timestamp_ms=now))

    def suspend(self, status: RunStatus, wake_at_ms: int | None) -> None:
        """The run waits for something outside it; no process executes it meanwhile."""
        self.batch.write(
            RunUpdate(
                run_id=self.run_id,
                status=status.value,
                heartbeat_at_ms=None,
                runtime_owner_id=None,
                wake_at_ms=wake_at_ms,
                updated_at_ms=self.now,
            )
        )
        self.emit(
            ev.RunStatusChanged(run_id=self.run_id, timestamp_ms=self.now, status=status.value)
        )

    def stop_attempts(self, reason: str, *, node_state: NodeState) -> None:
        """Close every live attempt (running, waiting for a timer or a signal)."""
        for info in self.model.nodes.values():
            for attempt in info.attempts:
                was_timer = attempt.state == AttemptState.WAITING_TIMER
                if attempt.state == AttemptState.IN_PROGRESS:
                    self.end_attempt(info, attempt, AttemptState.CANCELLED)
                    self.set_node(info, node_state, last_attempt=attempt.attempt)
                    self.emit(
                        ev.NodeCancelled(**self.base(info), reason=reason, attempt=attempt.attempt)
                    )
                elif attempt.state in (AttemptState.WAITING_TIMER, AttemptState.WAITING_EVENT) and (
                    node_state is NodeState.CANCELLED
                ):
                    self.end_attempt(info, attempt, AttemptState.CANCELLED)
                    self.set_node(info, NodeState.CANCELLED, last_attempt=attempt.attempt)
                    if was_timer:
                        fires_at = timer_fires_at(attempt, self.now)
                        self.emit(
                            ev.TimerCancelled(
                                **self.base(info), timer_id=info.node_id, fires_at_ms=fires_at
                            )
                        )
                    self.emit(
                        ev.NodeCancelled(**self.base(info), reason=reason, attempt=attempt.attempt)
                    )
            if node_state is NodeState.CANCELLED and info.state == NodeState.WAITING_APPROVAL:
                self.set_node(info, NodeState.CANCELLED)
                self.emit(ev.NodeCancelled(**self.base(info), reason=reason))

    def cancel_run(self) -> None:
        """Cancel everything live and end the run ``cancelled``."""
        self.stop_attempts("run-cancelled", node_state=NodeState.CANCELLED)
        self.end_run(RunStatus.CANCELLED)
