"""The durable conversation of an agent attempt: its turns in ``_smithers_transcripts``.

Each turn is committed before the conversation goes on (a model's answer before its tool
calls run, their results before the next model call). An attempt that was interrupted — a
crash, a shutdown, a lost owner, a cancel — hands its turns to the next attempt of the node,
which continues from there; a failed attempt's retry starts afresh.
"""

from __future__ import annotations

from collections.abc import Callable

from smithers.engine.side_channel import RunningAttempt, SideChannel
from smithers.errors import AgentError
from smithers.statuses import AttemptState
from smithers.store.rows import ToolCallRow, TranscriptRow
from smithers.store.store import Store

__all__ = ["AttemptMemory"]


class AttemptMemory:
    """Reads the rows of the conversation an attempt inherits and commits its new turns; what
    a row means (a turn, a tool call's answer) is the agents' (``smithers.agents.transcript``)."""

    def __init__(
        self, store: Store, side: SideChannel, item: RunningAttempt, clock: Callable[[], int]
    ) -> None:
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

    async def recall(self) -> tuple[list[TranscriptRow], list[ToolCallRow]]:
        """The committed turns (in order) and the tool calls of the inherited attempts."""
        leaf = self.item.leaf
        return await self.store.reads.transcript(
            self.side.run_id, leaf.id, leaf.iteration, self.inherited_attempts()
        )

    async def save(self, role: str, content_json: str, usage_json: str | None) -> None:
        """Commit one turn of this attempt (and wait for the commit)."""
        self._turn += 1
        leaf = self.item.leaf
        row = TranscriptRow(
            run_id=self.side.run_id,
            node_id=leaf.id,
            iteration=leaf.iteration,
            attempt=self.item.attempt.attempt,
            turn=self._turn,
            role=role,
            content_json=content_json,
            usage_json=usage_json,
            created_at_ms=self.clock(),
        )
        if not self.side.record_turn(self.item, row):
            raise AgentError("the attempt no longer runs in this process")
        await self.side.commit_now()
