"""Typed rows: each matches its table, and a batch of them becomes the writes it should."""

from __future__ import annotations

import msgspec
import pytest

from smithers.store import schema as s
from smithers.store.batch import TypedOutput
from smithers.store.outputs import output_table_for
from smithers.store.rows import AttemptRow, AttemptUpdate, RunRow, RunStatusRow, RunUpdate
from smithers.store.statements import KINDS, writes
from tests.store.helpers import node_row, run_row


class Shipped(msgspec.Struct):
    count: int


def _columns(row_type: type) -> set[str]:
    table = KINDS[row_type].table
    assert table is not None
    return {c.name for c in table.columns}


def test_every_internal_table_has_one_row_type_with_its_columns() -> None:
    """The table list is ``KINDS``: a row type per internal table, spelled as its columns; an
    update type names only the key and columns of that table."""
    tables = {k.table.name for k in KINDS.values() if k.table is not None}
    assert tables == {t.name for t in s.metadata.sorted_tables} - {s.schema_version.name}
    for row_type, kind in KINDS.items():
        if kind.table is None:
            continue
        fields = set(row_type.__struct_fields__)
        assert set(kind.keys) <= fields, row_type
        if kind.op == "update":
            assert fields <= _columns(row_type), row_type
        else:
            assert fields == _columns(row_type), row_type


def test_the_status_columns_are_a_part_of_the_run_row() -> None:
    assert issubclass(RunRow, RunStatusRow)
    assert set(RunStatusRow.__struct_fields__) < set(RunRow.__struct_fields__)


def test_writes_come_in_table_order_one_statement_per_set_of_columns() -> None:
    done = RunUpdate(run_id="r", status="finished")
    nodes = [node_row("r", "a"), node_row("r", "b")]
    found = writes([*nodes, done, node_row("r", "c")])
    assert [(w.table.name, w.op, len(w.rows)) for w in found] == [
        ("_smithers_runs", "update", 1),
        ("_smithers_nodes", "upsert", 3),
    ]
    assert found[0].rows == [{"run_id": "r", "status": "finished"}]  # UNSET: not written


def test_a_row_written_again_is_folded_into_the_first() -> None:
    start = AttemptRow(
        run_id="r", node_id="n", iteration=0, attempt=1, state="in-progress", started_at_ms=5
    )
    beat = AttemptUpdate(run_id="r", node_id="n", iteration=0, attempt=1, heartbeat_at_ms=6)
    end = AttemptUpdate(run_id="r", node_id="n", iteration=0, attempt=1, state="finished")
    owner = RunUpdate(run_id="r", runtime_owner_id=None)
    found = writes([beat, owner, start, end, RunUpdate(run_id="r", status="failed")])
    assert [(w.table.name, w.op) for w in found] == [
        ("_smithers_runs", "update"),
        ("_smithers_attempts", "insert"),
    ]
    assert found[0].rows == [{"run_id": "r", "runtime_owner_id": None, "status": "failed"}]
    (attempt,) = found[1].rows
    assert (attempt["state"], attempt["started_at_ms"], attempt["heartbeat_at_ms"]) == (
        "finished",
        5,
        6,
    )
    twice = writes([node_row("r", "a"), node_row("r", "a", "finished")])
    assert [w.rows for w in twice] == [[msgspec.structs.asdict(node_row("r", "a", "finished"))]]


def test_no_table_is_both_upserted_and_updated() -> None:
    """Folding relies on it: an upsert folded into an update of a row that does not exist
    would not insert it."""
    ops: dict[str, set[str]] = {}
    for kind in KINDS.values():
        if kind.table is not None:
            ops.setdefault(kind.table.name, set()).add(kind.op)
    assert not [name for name, found in ops.items() if {"upsert", "update"} <= found]


def test_a_mirror_copy_upserts_the_run_row() -> None:
    (found,) = writes([run_row("r")], op="upsert")
    assert found.op == "upsert" and found.rows[0]["workflow_name"] == "w"


def test_typed_outputs_group_by_table_and_other_types_are_refused() -> None:
    table = output_table_for(Shipped)
    rows = [
        TypedOutput(table, table.encode_row("r", f"n{i}", 0, Shipped(count=i))) for i in range(3)
    ]
    (found,) = writes(rows)
    assert found.table is table.table and [r["count"] for r in found.rows] == [0, 1, 2]
    with pytest.raises(TypeError, match="Shipped"):
        writes([Shipped(count=1)])
