"""A run's state change as one PostgreSQL statement: one round trip, its own transaction.

The run loop's commits (guarded by the run's owner) and ``create_run`` are the hot writes.
Each becomes one statement of data-modifying CTEs, executed outside an explicit transaction,
so PostgreSQL commits it on its own, atomically: the guard locks the run row
(``FOR UPDATE``), every write is gated on the guard passing, and the events take the seqs
after the run's last one. The guard row comes back, so a failed guard is still told apart
(no such run, another owner, a run id already taken).

A batch that one statement cannot write the way separate statements would is left to the
transactional path (``Store``): rows written twice (all sub-statements see one snapshot, so an
update would miss a row inserted next to it), or more parameters than the protocol carries.
A statement the server rejects wrote nothing, so the caller retries on that path; that is also
how a stale ``MAX(seq)`` is caught — taken from the statement's snapshot, which may predate a
writer that held the lock, it makes the event insert collide with that writer's seqs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql

from smithers.store import schema as s
from smithers.store.statements import Write

__all__ = ["GUARD_COLUMNS", "MAX_PARAMETERS", "OneStatement"]

MAX_PARAMETERS = 32_000
"""Bind parameters per statement (the wire protocol's limit is 32,767)."""

GUARD_COLUMNS = (
    "run_id",
    "status",
    "runtime_owner_id",
    "heartbeat_at_ms",
    "cancel_requested_at_ms",
    "wake_at_ms",
)
_EVENT_COLUMNS = ("timestamp_ms", "type", "payload_json")
_CACHED_SHAPES = 512
_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_quote = _DIALECT.identifier_preparer.quote


class OneStatement:
    """Builds (and caches, per shape) the single statement of a batch."""

    def __init__(self) -> None:
        self._sql: dict[Any, str] = {}
        self._types: dict[int, dict[str, str]] = {}

    def guarded(
        self, run_id: str, owner: str, writes: Sequence[Write], events: Sequence[dict[str, Any]]
    ) -> tuple[str, list[Any]] | None:
        """The statement of a commit by ``owner`` (None: use the transactional path).

        Its one row: the guard columns, ``max_seq`` (the run's last seq before the events)
        and ``written`` (false when the run has another owner); no row when the run is gone.
        """
        return self._statement(("guarded",), [run_id, owner], writes, events)

    def creating(
        self, run: Write, writes: Sequence[Write], events: Sequence[dict[str, Any]]
    ) -> tuple[str, list[Any]] | None:
        """The statement of ``create_run``: no row when the run id is taken."""
        if len(run.rows) != 1:
            return None
        return self._statement(("creating", run.cols), [], [run, *writes], events)

    def _statement(
        self,
        mode: tuple[Any, ...],
        args: list[Any],
        writes: Sequence[Write],
        events: Sequence[dict[str, Any]],
    ) -> tuple[str, list[Any]] | None:
        if _writes_a_row_twice(writes):
            return None
        count = len(args) + sum(len(w.cols) * len(w.rows) for w in writes)
        if count + len(events) * len(_EVENT_COLUMNS) > MAX_PARAMETERS:
            return None
        for w in writes:
            args += [row[c] for row in w.rows for c in w.cols]
        args += [row[c] for row in events for c in _EVENT_COLUMNS]
        shape = (
            mode,
            tuple((w.op, id(w.table), w.cols, len(w.rows), w.ignore) for w in writes),
            len(events),
        )
        sql = self._sql.get(shape)
        if sql is None:
            if len(self._sql) >= _CACHED_SHAPES:
                self._sql.clear()
            sql = self._sql[shape] = self._build(mode[0], writes, len(events))
        return sql, args

    def _build(self, mode: str, writes: Sequence[Write], events: int) -> str:
        params = _Numbering()
        ctes: list[str] = []
        guard = ", ".join(GUARD_COLUMNS)
        if mode == "guarded":
            run_id, owner = params.take(), params.take()
            ctes.append(
                f"cur AS (SELECT {guard} FROM {s.runs.name} WHERE run_id = {run_id} FOR UPDATE)"
            )
            ctes.append(
                "ok AS (SELECT run_id, (SELECT coalesce(max(seq), -1) FROM "
                f"{s.events.name} WHERE run_id = {run_id}) AS max_seq FROM cur "
                f"WHERE runtime_owner_id = {owner})"
            )
        else:
            run, *writes = writes
            values = self._values(run, params)
            ctes.append(
                f"cur AS (INSERT INTO {s.runs.name} ({', '.join(run.cols)}) {values} "
                f"ON CONFLICT (run_id) DO NOTHING RETURNING {guard})"
            )
            ctes.append("ok AS (SELECT run_id, CAST(-1 AS BIGINT) AS max_seq FROM cur)")
        for index, w in enumerate(writes):
            ctes.append(f"w{index} AS ({self._write(w, params)})")
        if events:
            ctes.append(f"ev AS ({self._events(events, params)})")
        return (
            f"WITH {', '.join(ctes)} SELECT {', '.join('cur.' + c for c in GUARD_COLUMNS)}, "
            "ok.max_seq, ok.run_id IS NOT NULL AS written FROM cur LEFT JOIN ok ON true"
        )

    def _write(self, w: Write, params: _Numbering) -> str:
        name, cols = _quote(w.table.name), ", ".join(map(_quote, w.cols))
        gated = "EXISTS (SELECT 1 FROM ok)"
        if w.op == "update":
            values = [_quote(c) for c in w.cols if c not in w.keys]
            sets = ", ".join(f"{c} = v.{c}" for c in values)
            match = " AND ".join(f"{name}.{k} = v.{k}" for k in map(_quote, w.keys))
            return (
                f"UPDATE {name} SET {sets} FROM ({self._values(w, params)}) AS v ({cols}) "
                f"WHERE {match} AND {gated}"
            )
        insert = (
            f"INSERT INTO {name} ({cols}) SELECT * FROM ({self._values(w, params)}) AS v "
            f"WHERE {gated}"
        )
        if w.op == "insert":
            return insert
        keys = ", ".join(map(_quote, w.keys))
        changes = [_quote(c) for c in w.cols if c not in w.keys]
        if w.ignore or not changes:
            return f"{insert} ON CONFLICT ({keys}) DO NOTHING"
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in changes)
        return f"{insert} ON CONFLICT ({keys}) DO UPDATE SET {sets}"

    def _events(self, count: int, params: _Numbering) -> str:
        types = self._column_types(s.events)
        rows = ", ".join(
            "(" + ", ".join([str(n + 1), *(params.cast(types[c]) for c in _EVENT_COLUMNS)]) + ")"
            for n in range(count)
        )
        return (
            f"INSERT INTO {s.events.name} (run_id, seq, {', '.join(_EVENT_COLUMNS)}) "
            f"SELECT ok.run_id, ok.max_seq + v.n, {', '.join('v.' + c for c in _EVENT_COLUMNS)} "
            f"FROM ok, (VALUES {rows}) AS v (n, {', '.join(_EVENT_COLUMNS)})"
        )

    def _values(self, w: Write, params: _Numbering) -> str:
        """``VALUES`` with typed parameters (their types are not inferred outside an INSERT)."""
        types = self._column_types(w.table)
        row = [types[c] for c in w.cols]
        return "VALUES " + ", ".join(
            "(" + ", ".join(params.cast(t) for t in row) + ")" for _ in w.rows
        )

    def _column_types(self, table: Table) -> dict[str, str]:
        found = self._types.get(id(table))
        if found is None:
            found = self._types[id(table)] = {
                c.name: c.type.compile(dialect=_DIALECT) for c in table.columns
            }
        return found


class _Numbering:
    """Positional parameters ``$1, $2, …`` in the order the arguments are laid out."""

    def __init__(self) -> None:
        self.count = 0

    def take(self) -> str:
        self.count += 1
        return f"${self.count}"

    def cast(self, sql_type: str) -> str:
        return f"CAST({self.take()} AS {sql_type})"


def _writes_a_row_twice(writes: Sequence[Write]) -> bool:
    seen: set[tuple[str, tuple[Any, ...]]] = set()
    for w in writes:
        for row in w.rows:
            key = (w.table.name, tuple(row[k] for k in w.keys))
            if key in seen:
                return True
            seen.add(key)
    return False
