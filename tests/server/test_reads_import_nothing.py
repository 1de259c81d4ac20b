"""No read imports a workflow file (agents-and-tools.md §5, protected paths): a real server
answers ``GET`` for a run whose workflow file was replaced, after the run started, by one
whose top-level code writes a marker file; the answers are those of the original workflow
and the marker never appears. Typed outputs are decoded from what the run stored when it
started; a run stored before that (nothing stored) gives its output columns as stored."""

from __future__ import annotations

import sqlite3
import subprocess
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.cli.helpers import SMITHERS
from tests.server.process import ServerProcess, status_of, wait_until

TYPED = """
import msgspec
from smithers import Sequence, Task, workflow

class Finding(msgspec.Struct, rename="camel"):
    line_no: int
    severe: bool = False

class Review(msgspec.Struct):
    ok: bool
    score: float
    tags: list[str]
    findings: list[Finding]

def review():
    return Review(ok=True, score=0.5, tags=["a", "b"], findings=[Finding(3, True), Finding(9)])

@workflow("typed"{pin})
def build(ctx):
    return Sequence(Task("review", review, output=Review), Task("plain", value={{"n": 1}}))
"""

DECODED = {
    "ok": True,
    "score": 0.5,
    "tags": ["a", "b"],
    "findings": [{"lineNo": 3, "severe": True}, {"lineNo": 9, "severe": False}],
}
AS_STORED = {
    "ok": 1,
    "score": 0.5,
    "tags": '["a","b"]',
    "findings": '[{"lineNo":3,"severe":true},{"lineNo":9,"severe":false}]',
}

HOSTILE = """
import pathlib
pathlib.Path({marker!r}).write_text("the server imported the workflow file")
raise SystemExit("not a workflow any more")
"""


@contextmanager
def _serving(root: Path, db: str) -> Iterator[httpx.Client]:
    """A client of a new server process (stopped when the block ends)."""
    with ServerProcess(root, db) as server, httpx.Client(base_url=server.url, timeout=20) as c:
        yield c


def _write(path: Path, source: str) -> None:
    path.write_text(textwrap.dedent(source))


def _finished_run(client: httpx.Client) -> str:
    run_id = str(client.post("/v1/runs", json={"workflowPath": "typed.py"}).json()["runId"])
    wait_until(lambda: status_of(client, run_id) == "finished")
    return run_id


def _outputs(client: httpx.Client, run_id: str) -> dict[str, object]:
    response = client.get(f"/v1/runs/{run_id}/nodes")
    assert response.status_code == 200, response.text
    return {node["nodeId"]: node["output"] for node in response.json()}


def _every_read(client: httpx.Client, run_id: str) -> None:
    """The other per-run reads answer too (none of them imports anything either)."""
    for path in ("", "/frames", "/tool-calls", "/input", "/transcript"):
        response = client.get(f"/v1/runs/{run_id}{path}")
        assert response.status_code == 200, (path, response.text)
    with client.stream("GET", f"/v1/runs/{run_id}/events") as events:
        assert events.status_code == 200 and "RunFinished" in events.read().decode()
    assert client.get("/v1/runs").status_code == 200


def _command_line_reads(db: str, run_id: str) -> None:
    """The command line's reads of the run (``ps``, ``inspect``, ``events``) import nothing."""
    for args in (["ps"], ["inspect", run_id], ["events", run_id]):
        done = subprocess.run(
            [*SMITHERS, *args, f"--db={db}", "--json"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        assert run_id in done.stdout, args


def _replaced_then_read(root: Path, db: str, tmp_path: Path, *, pin: str = "") -> None:
    workflow = root / "typed.py"
    _write(workflow, TYPED.format(pin=pin))
    marker = tmp_path / "imported.txt"
    with _serving(root, db) as client:
        run_id = _finished_run(client)
        assert _outputs(client, run_id) == {"review": DECODED, "plain": {"n": 1}}
        _write(workflow, HOSTILE.format(marker=str(marker)))
        assert _outputs(client, run_id) == {"review": DECODED, "plain": {"n": 1}}
        _every_read(client, run_id)
    _command_line_reads(db, run_id)
    assert not marker.exists()
    # A new process has imported nothing yet: it reads the run without the file too.
    with _serving(root, db) as client:
        assert _outputs(client, run_id) == {"review": DECODED, "plain": {"n": 1}}
        _every_read(client, run_id)
        workflow.unlink()
        assert _outputs(client, run_id) == {"review": DECODED, "plain": {"n": 1}}
    assert not marker.exists(), marker.read_text()


def test_a_replaced_workflow_file_is_never_imported_by_a_read(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    _replaced_then_read(root, str(tmp_path / "server.db"), tmp_path)


@pytest.mark.postgres
def test_on_postgresql_too(tmp_path: Path, pg_url: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    _replaced_then_read(root, pg_url, tmp_path)


def test_nor_that_of_a_mirrored_run_whose_database_is_opened_again(tmp_path: Path) -> None:
    """The workflow pins its own database: a new server finds the run through the mirror
    copy and opens that database from the stored URL, not from the (replaced) file."""
    root = tmp_path / "root"
    root.mkdir()
    _replaced_then_read(root, str(tmp_path / "server.db"), tmp_path, pin=', db="own.db"')
    own = sqlite3.connect(root / "own.db")
    try:
        [(count,)] = own.execute("SELECT count(*) FROM review").fetchall()
    finally:
        own.close()
    assert count == 1  # the run and its typed output live in the workflow's own database


def test_a_run_stored_before_descriptions_gives_its_columns_as_stored(tmp_path: Path) -> None:
    """A database from before schema version 5: its runs have no stored description."""
    root = tmp_path / "root"
    root.mkdir()
    _write(root / "typed.py", TYPED.format(pin=""))
    db = tmp_path / "server.db"
    with _serving(root, str(db)) as client:
        run_id = _finished_run(client)
    conn = sqlite3.connect(db)
    try:
        with conn:  # back to version 4: no table of descriptions
            conn.execute("DROP TABLE _smithers_output_schemas")
            conn.execute("DELETE FROM _smithers_schema_version WHERE version >= 5")
    finally:
        conn.close()
    with _serving(root, str(db)) as client:
        assert _outputs(client, run_id) == {"review": AS_STORED, "plain": {"n": 1}}
        newer = _finished_run(client)  # the migrated database stores descriptions again
        assert _outputs(client, newer) == {"review": DECODED, "plain": {"n": 1}}
