"""What a scheduler's maintenance asks of a database: heartbeats for the runs it owns, their
cancel requests and foreign events, and the runs no live process executes (to claim)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from sqlalchemy import and_, bindparam, or_, select, update

from smithers.statuses import RunStatus
from smithers.store import queries as q
from smithers.store import schema as s
from smithers.store.db import Database
from smithers.store.rows import RunRow

__all__ = ["Ownership", "RunPoll"]

_TOUCH_HEARTBEATS = (
    update(s.runs)
    .where(
        s.runs.c.run_id.in_(bindparam("run_ids", expanding=True)),
        s.runs.c.runtime_owner_id == bindparam("owner"),
    )
    .values(heartbeat_at_ms=bindparam("now"))
    .returning(s.runs.c.run_id)
)
_POLL = select(
    s.runs.c.run_id,
    s.runs.c.runtime_owner_id,
    s.runs.c.cancel_requested_at_ms,
    q.MAX_SEQ_OF_EACH_RUN,
).where(s.runs.c.run_id.in_(bindparam("run_ids", expanding=True)))
_WAKING = [RunStatus.WAITING_TIMER.value, RunStatus.WAITING_EVENT.value]
_CLAIMABLE = (
    select(s.runs)
    .where(
        or_(
            and_(
                s.runs.c.status == RunStatus.RUNNING.value,
                or_(
                    s.runs.c.runtime_owner_id.is_(None),
                    s.runs.c.heartbeat_at_ms.is_(None),
                    s.runs.c.heartbeat_at_ms < bindparam("stale_before"),
                ),
            ),
            and_(s.runs.c.status.in_(_WAKING), s.runs.c.wake_at_ms <= bindparam("now")),
        )
    )
    .order_by(s.runs.c.created_at_ms)
    .limit(bindparam("limit"))
)


class RunPoll(msgspec.Struct, kw_only=True):
    """What the owner of a run polls: its owner, cancel request and highest event ``seq``."""

    run_id: str
    runtime_owner_id: str | None
    cancel_requested_at_ms: int | None
    max_seq: int


class Ownership:
    """The ownership queries of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def touch_heartbeats(self, owner: str, run_ids: Sequence[str], now: int) -> set[str]:
        """Refresh the heartbeat of the runs ``owner`` still owns; returns those run ids."""
        if not run_ids:
            return set()
        async with self.db.transaction() as tx:
            rows = await tx.fetch_all(
                _TOUCH_HEARTBEATS, {"owner": owner, "run_ids": list(run_ids), "now": now}
            )
        return {r["run_id"] for r in rows}

    async def poll_runs(self, run_ids: Sequence[str]) -> list[RunPoll]:
        """Owner, cancel request and highest ``seq`` of several runs."""
        if not run_ids:
            return []
        rows = await self.db.fetch_all(_POLL, {"run_ids": list(run_ids)})
        return [RunPoll(**r) for r in rows]

    async def find_claimable(self, now: int, stale_before: int, limit: int = 20) -> list[RunRow]:
        """Runs no live process executes: ownerless or stale ``running``, or suspended and due."""
        rows = await self.db.fetch_all(
            _CLAIMABLE, {"now": now, "stale_before": stale_before, "limit": limit}
        )
        return [RunRow(**r) for r in rows]
