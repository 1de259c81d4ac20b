"""The durable conversation of an agent attempt: its turns in ``_smithers_transcripts``.

Each turn is committed before the conversation goes on (a model's answer before its tool
calls run, their results before the next model call). An attempt that was interrupted — a
crash, a shutdown, a lost owner, a cancel — hands its turns to the next attempt of the node,
which continues from there; a failed attempt's retry starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from smithers.engine.side_channel import RunningAttempt, SideChannel
from smithers.errors import AgentError
from smithers.statuses import AttemptState
from smithers.store.rows import ToolCallRow
from smithers.store.store import Store

__all__ = ["AttemptMemory", "Recalled"]


@dataclass(slots=True)
class Recalled:
    """What earlier attempts committed: turns ``(role, content)`` in order, and tool calls."""

    turns: list[tuple[str, Any]] = field(default_factory=list)
    calls: dict[str, ToolCallRow] = field(default_factory=dict)


class AttemptMemory:
    """Reads the conversation an attempt inherits and commits its new turns."""

    def __init__(self, store: Store, side: SideChannel, item: RunningAttempt, clock: Any) -> None:
        self.store = store
        self.side = side
        self.item = item
        self.clock = clock
        self._turn = 0

    def inherited_attempts(self) -> list[int]:
        """The attempts right before this one that ended without failing (oldest first)."""
        found: list[int] = []
        for attempt in reversed(self.item.info.attempts):
            if attempt.attempt >= self.item.attempt.attempt:
                continue
            if attempt.state != AttemptState.CANCELLED:
                break
            found.append(attempt.attempt)
        return found[::-1]

    async def recall(self) -> Recalled:
        """The committed turns and tool calls of the inherited attempts."""
        leaf = self.item.leaf
        turns, calls = await self.store.reads.transcript(
            self.side.run_id, leaf.id, leaf.iteration, self.inherited_attempts()
        )
        return Recalled(
            [(t.role, msgspec.json.decode(t.content_json)) for t in turns],
            {c.call_id: c for c in calls},
        )

    async def save(self, role: str, content: Any, usage: dict[str, int] | None = None) -> None:
        """Commit one turn of this attempt (and wait for the commit)."""
        self._turn += 1
        leaf = self.item.leaf
        row = {
            "run_id": self.side.run_id,
            "node_id": leaf.id,
            "iteration": leaf.iteration,
            "attempt": self.item.attempt.attempt,
            "turn": self._turn,
            "role": role,
            "content_json": msgspec.json.encode(content).decode(),
            "usage_json": None if usage is None else msgspec.json.encode(usage).decode(),
            "created_at_ms": self.clock(),
        }
        if not self.side.record_turn(self.item, row):
            raise AgentError("the attempt no longer runs in this process")
        await self.side.commit_now()
