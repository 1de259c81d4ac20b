"""A workflow's database password never leaves the process: not in HTTP answers, the event
stream, metrics, the server's log, the command line's output, nor any row of either database
(the run's own one and the server database its run is mirrored into)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from smithers.store.urls import database_identity
from tests.cli.helpers import smithers
from tests.conftest import PG_URL
from tests.server.process import ServerProcess, status_of, wait_until

SECRET = "s3cr3t-PASSWORD"

GATED = """
from smithers import workflow, Task, Sequence, Approval
@workflow("secret", db={db!r})
def build(ctx):
    return Sequence(Task("a", value=1), Approval("gate"), Task("b", value=2))
"""


def _with_password(url: str) -> str:
    return make_url(url).set(password=SECRET).render_as_string(hide_password=False)


def _listed(client: httpx.Client, run_id: str, status: str) -> str | None:
    """The body of ``GET /v1/runs`` once it lists the run with ``status`` (the mirror copy)."""
    answer = client.get("/v1/runs")
    runs = [(r["runId"], r["status"]) for r in answer.json()]
    return answer.text if (run_id, status) in runs else None


def _sqlite_values(path: Path) -> list[Any]:
    """Every value of every row of every ``_smithers_*`` table."""
    with sqlite3.connect(path) as conn:
        tables = [
            name
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name.startswith("_smithers_")
        ]
        return [v for t in tables for row in conn.execute(f'SELECT * FROM "{t}"') for v in row]


def _postgres_values(schema: str) -> list[Any]:
    import asyncpg

    async def read() -> list[Any]:
        conn = await asyncpg.connect(PG_URL)
        try:
            tables = await conn.fetch(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = $1 AND table_name LIKE '\\_smithers\\_%'",
                schema,
            )
            values: list[Any] = []
            for (table,) in tables:
                for row in await conn.fetch(f'SELECT * FROM "{schema}"."{table}"'):
                    values.extend(row.values())
            return values
        finally:
            await conn.close()

    return asyncio.run(read())


def _run_row_config(values: list[Any]) -> list[str]:
    return [v for v in values if isinstance(v, str) and '"dbUrl"' in v]


def test_a_pinned_database_password_appears_nowhere(
    root: Path, tmp_path: Path, pg_url: str
) -> None:
    own_db = _with_password(pg_url)  # trust authentication: any password is accepted
    (root / "secret.py").write_text(textwrap.dedent(GATED.format(db=own_db)))
    server_db = tmp_path / "server.db"
    shown: dict[str, str] = {}

    with (
        ServerProcess(root, str(server_db)) as first,
        httpx.Client(base_url=first.url, timeout=20) as client,
    ):
        run_id = client.post("/v1/runs", json={"workflowPath": "secret.py"}).json()["runId"]
        wait_until(lambda: status_of(client, run_id) == "waiting-approval")
        shown["listing"] = wait_until(lambda: _listed(client, run_id, "waiting-approval"))
        shown["run"] = client.get(f"/v1/runs/{run_id}").text
        shown["approvals"] = client.get("/v1/approvals").text
        shown["metrics"] = client.get("/metrics").text

    # A restarted server finds the run through its mirror copy (whose dbUrl has no password)
    # and continues it in the run's own database once it is approved.
    with (
        ServerProcess(root, str(server_db)) as second,
        httpx.Client(base_url=second.url, timeout=20) as client,
    ):
        assert status_of(client, run_id) == "waiting-approval"
        approved = client.post(f"/v1/runs/{run_id}/nodes/gate/approve", json={})
        assert approved.status_code == 200, approved.text
        wait_until(lambda: status_of(client, run_id) == "finished")
        shown["events"] = client.get(f"/v1/runs/{run_id}/events").text  # ends with the run
        shown["frames"] = client.get(f"/v1/runs/{run_id}/frames").text
        shown["finished listing"] = wait_until(lambda: _listed(client, run_id, "finished"))
        shown["metrics after"] = client.get("/metrics").text
    assert '"type":"RunFinished"' in shown["events"].replace(" ", "")
    shown["server logs"] = "".join(first.log + second.log)

    for args in (
        ["ps", "--json", "--db", str(server_db)],
        ["inspect", run_id, "--json", "--db", str(server_db)],
        ["inspect", run_id, "--json", "--db", own_db],
        ["events", run_id, "--db", own_db],
        ["inspect", "no-such-run", "--db", own_db],  # the error names the database
        ["inspect", "no-such-run", "--db", f"{pg_url}&password={SECRET}"],
    ):
        result = smithers(*args, cwd=tmp_path)
        shown[" ".join(args)] = result.stdout + result.stderr
    not_found = [text for where, text in shown.items() if "no-such-run" in where]
    assert run_id in shown[f"ps --json --db {server_db}"]
    assert len(not_found) == 2 and all("RUN_NOT_FOUND" in text for text in not_found)

    leaked = [where.replace(SECRET, "…") for where, text in shown.items() if SECRET in text]
    assert leaked == []

    # The listing still says where the run lives: its database, without the password.
    item = next(r for r in json.loads(shown["finished listing"]) if r["runId"] == run_id)
    assert json.loads(item["configJson"])["dbUrl"] == database_identity(own_db)

    schema = make_url(pg_url).query["schema"]
    assert isinstance(schema, str)
    for name, values in (
        ("server database", _sqlite_values(server_db)),
        ("run's own database", _postgres_values(schema)),
    ):
        assert _run_row_config(values), f"{name}: the run row was not read"
        assert [v for v in values if SECRET in str(v)] == [], name
    assert not any(SECRET.encode() in f.read_bytes() for f in tmp_path.glob("server.db*"))


def test_a_database_that_cannot_be_opened_is_reported_without_its_password(
    root: Path, tmp_path: Path
) -> None:
    """An unsupported scheme and a PostgreSQL server that does not answer, both with a
    password in the URL: the error answer and the log leave it out."""
    (root / "mysql.py").write_text(
        textwrap.dedent(GATED.format(db=f"mysql://ann:{SECRET}@127.0.0.1/app"))
    )
    (root / "closed.py").write_text(
        textwrap.dedent(GATED.format(db=f"postgresql://ann:{SECRET}@127.0.0.1:1/app"))
    )
    # "@" and ":" in the password, not percent-encoded: the host part does not parse
    (root / "unencoded.py").write_text(
        textwrap.dedent(GATED.format(db=f"postgresql://ann:a@b:{SECRET}@127.0.0.1/app"))
    )
    with (
        ServerProcess(root, str(tmp_path / "server.db")) as server,
        httpx.Client(base_url=server.url, timeout=20) as client,
    ):
        answers = [
            client.post("/v1/runs", json={"workflowPath": w})
            for w in ("mysql.py", "closed.py", "unencoded.py")
        ]
    assert [a.status_code >= 400 for a in answers] == [True, True, True]
    assert "mysql" in answers[0].text
    assert [a.text for a in answers if SECRET in a.text] == []
    assert SECRET not in "".join(server.log)
