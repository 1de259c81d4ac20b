"""How one run's loop writes: one commit at a time, each taking first what the attempts' side
channel gathered (log lines, heartbeats, tool calls, turns), every write guarded by the
owner id, and the model's view of the run's events (``seen_seq``) kept current."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from smithers.engine.run_model import Key, RunModel
from smithers.engine.side_channel import RunningAttempt, SideChannel
from smithers.engine.writes import Change
from smithers.errors import OwnershipLost
from smithers.store.store import Commit, ExpectationFailed, Store

__all__ = ["RunCommits"]


class RunCommits:
    """The commits of one run's loop and of its side channel (``side``)."""

    def __init__(
        self,
        *,
        store: Store,
        model: RunModel,
        owner: str,
        running: dict[Key, RunningAttempt],
        clock: Callable[[], int],
        on_foreign_events: Callable[[], None],
        on_lost: Callable[[], None],
    ) -> None:
        self.store = store
        self.model = model
        self.owner = owner
        self.clock = clock
        self.side = SideChannel(model.run_id, running, clock, self._flush_side)
        self._on_foreign_events = on_foreign_events
        """Another writer appended events meanwhile: the loop re-reads what they changed."""
        self._on_lost = on_lost
        """A flush of the side channel found the run owned by another process."""
        self._lock = asyncio.Lock()

    async def commit(
        self,
        change: Change,
        *,
        expect: dict[str, Any] | None = None,
        expect_max_seq: int | None = None,
    ) -> Commit:
        """Commit ``change`` (after what the side channel gathered) and apply it to the model."""
        # One commit of this run at a time, in the order they took the side channel's rows:
        # a side flush overtaken by the run's last commit (on PostgreSQL, where a commit
        # awaits a connection) would meet a run that no longer has an owner and be dropped.
        async with self._lock:
            return await self._commit_now(change, expect, expect_max_seq)

    async def _commit_now(
        self, change: Change, expect: dict[str, Any] | None = None, max_seq: int | None = None
    ) -> Commit:
        side = self.side.take()
        if side:
            side.put_first_into(change.batch, change.after)
        try:
            commit = await self.store.commit(
                self.model.run_id,
                change.batch,
                owner=self.owner,
                expect=expect,
                expect_max_seq=max_seq,
            )
        except ExpectationFailed:
            self.side.restore(side)
            raise
        change.applied()
        if commit.prior_max_seq == self.model.seen_seq:
            self.model.seen_seq = commit.last_seq
        else:
            self._on_foreign_events()
        return commit

    async def _flush_side(self) -> None:
        """Commit what the side channel gathered (log lines, due heartbeats) on its own."""
        try:
            async with self._lock:
                if self.side.has_pending():  # else a commit of the loop took it meanwhile
                    await self._commit_now(Change(self.model, self.clock()))
        except OwnershipLost:
            self._on_lost()
