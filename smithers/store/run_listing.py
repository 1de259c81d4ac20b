"""Run listings with filters and a cursor, and run counts (``GET /v1/runs``, ``/v1/run-counts``).

Newest first by ``(created_at_ms, run_id)``: the run id breaks ties between runs created in
the same millisecond, so a cursor taken from a page's last run continues exactly after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, and_, bindparam, func, or_, select
from sqlalchemy.sql import Select

from smithers.store import schema as s
from smithers.store.db import Database, Transaction
from smithers.store.rows import RunRow

__all__ = ["Cursor", "RunFilter", "count_runs", "list_runs"]


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ends: the runs older than this one come next."""

    created_at_ms: int
    run_id: str


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Which runs a listing or a count covers."""

    status: str | None = None
    workflow: str | None = None


_statements: dict[tuple[bool, bool, bool], Select[tuple[object, ...]]] = {}


def _page(status: bool, workflow: bool, cursor: bool) -> Select[tuple[object, ...]]:
    key = (status, workflow, cursor)
    stmt = _statements.get(key)
    if stmt is None:
        runs = s.runs.c
        query = select(s.runs)
        if status:
            query = query.where(runs.status == bindparam("status"))
        if workflow:
            query = query.where(runs.workflow_name == bindparam("workflow"))
        if cursor:
            created = bindparam("before_created", type_=BigInteger)
            query = query.where(
                or_(
                    runs.created_at_ms < created,
                    and_(runs.created_at_ms == created, runs.run_id < bindparam("before_id")),
                )
            )
        order = (runs.created_at_ms.desc(), runs.run_id.desc())
        stmt = _statements[key] = query.order_by(*order).limit(bindparam("limit"))
    return stmt


async def list_runs(
    db: Database | Transaction, limit: int, where: RunFilter, before: Cursor | None = None
) -> list[RunRow]:
    """At most ``limit`` runs matching ``where``, newest first, older than ``before``."""
    params: dict[str, object] = {"limit": limit}
    if where.status is not None:
        params["status"] = where.status
    if where.workflow is not None:
        params["workflow"] = where.workflow
    if before is not None:
        params["before_created"] = before.created_at_ms
        params["before_id"] = before.run_id
    stmt = _page(where.status is not None, where.workflow is not None, before is not None)
    return [RunRow(**r) for r in await db.fetch_all(stmt, params)]


_COUNTS = select(s.runs.c.status, func.count().label("n")).group_by(s.runs.c.status)
_COUNTS_OF_WORKFLOW = (
    select(s.runs.c.status, func.count().label("n"))
    .where(s.runs.c.workflow_name == bindparam("workflow"))
    .group_by(s.runs.c.status)
)


async def count_runs(db: Database | Transaction, workflow: str | None = None) -> dict[str, int]:
    """Status → number of runs (of one workflow, when given)."""
    if workflow is None:
        rows = await db.fetch_all(_COUNTS)
    else:
        rows = await db.fetch_all(_COUNTS_OF_WORKFLOW, {"workflow": workflow})
    return {str(r["status"]): int(r["n"]) for r in rows}
