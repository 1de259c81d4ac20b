"""Shared fixtures: real SQLite files, the real PostgreSQL, workflow files on disk."""

from __future__ import annotations

import asyncio
import os
import textwrap
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

PG_URL = os.environ.get("SMITHERS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_answers() -> bool:
    import socket

    from sqlalchemy.engine import make_url

    url = make_url(PG_URL)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=1):
            return True
    except OSError:
        return False


PG_AVAILABLE = _postgres_answers()


def pytest_report_header() -> str:
    state = "available" if PG_AVAILABLE else "NOT answering: PostgreSQL tests are skipped"
    return f"smithers: PostgreSQL at {PG_URL} {state}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file for one test."""
    return f"sqlite:///{tmp_path / 'smithers.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test (dropped afterwards)."""
    if not PG_AVAILABLE:
        pytest.skip(f"no PostgreSQL server answers at {PG_URL}")
    import asyncpg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    dsn = PG_URL

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?schema={schema}"
    finally:
        asyncio.run(run(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on a SQLite file and on the real PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def write_workflow(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a workflow file (dedented source) and return its path."""
    counter = iter(range(1_000_000))

    def write(source: str, name: str | None = None) -> Path:
        path = tmp_path / (name or f"wf_{next(counter)}.py")
        path.write_text(textwrap.dedent(source))
        return path

    return write


@pytest.fixture
async def no_tasks_left() -> AsyncIterator[None]:
    """Fail a test that leaves asyncio tasks running."""
    yield
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    assert not pending, f"tasks left running: {pending}"
