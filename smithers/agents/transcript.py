"""An attempt's conversation, durably: the turns it inherits read back, its own committed as
they are made (``agents-and-tools.md`` §3).

The engine keeps the rows (``smithers.engine.agent_memory.AttemptMemory``, a ``Memory``);
what a row means is said here: its role and content are a ``Turn``, a tool-call row is the
``ToolResult`` the model reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from smithers.agents.turns import Replay, ToolResult, Turn, Usage, decode_turn, encode_turn, replay
from smithers.store.rows import ToolCallRow, TranscriptRow

__all__ = ["Memory", "Transcript"]


class Memory(Protocol):
    """Where an attempt's conversation is kept (the engine's ``AttemptMemory``)."""

    async def recall(self) -> tuple[Sequence[TranscriptRow], Sequence[ToolCallRow]]:
        """The turns and the tool calls of the attempts this one continues."""
        ...

    async def save(self, role: str, content_json: str, usage_json: str | None) -> None:
        """Commit one turn of this attempt (and wait for the commit)."""
        ...


class Transcript:
    """The turns of one attempt; without a memory (an agent run outside the engine), none
    are inherited or kept."""

    def __init__(self, memory: Memory | None) -> None:
        self.memory = memory

    async def recall(self) -> tuple[Replay, dict[str, ToolResult]]:
        """The inherited conversation, and the logged answers of its tool calls by call id
        (a call that never started has none)."""
        if self.memory is None:
            return Replay(), {}
        rows, calls = await self.memory.recall()
        turns = replay(decode_turn(row.role, row.content_json) for row in rows)
        return turns, {call.call_id: ToolResult.logged(call) for call in calls}

    async def save(self, turn: Turn, usage: Usage | None = None) -> None:
        """Commit ``turn`` (with its model call's usage)."""
        if self.memory is not None:
            usage_json = None if usage is None else msgspec.json.encode(usage).decode()
            role, content_json = encode_turn(turn)
            await self.memory.save(role, content_json, usage_json)
