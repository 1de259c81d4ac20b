"""The private APIs of aiosqlite and SQLAlchemy that ``PrivateApi`` fences, exercised one by
one: an upgrade that changes any of them fails here, by name, not deep inside a run."""

from __future__ import annotations

import sqlite3
import threading
from importlib.metadata import version
from pathlib import Path

import aiosqlite
import pytest
import sqlalchemy as sa

from smithers.store.private_api import CHECKED_AGAINST, PrivateApi

META = sa.MetaData()
ITEMS = sa.Table(
    "items",
    META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("score", sa.Float),
)
CREATE = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, score REAL)"


@pytest.mark.parametrize("package", sorted(CHECKED_AGAINST))
def test_the_installed_release_is_the_one_checked(package: str) -> None:
    installed, checked = version(package).split("."), CHECKED_AGAINST[package].split(".")
    assert installed[:2] == checked[:2], (
        f"{package} {version(package)} is installed but smithers/store/private_api.py was "
        f"checked against {CHECKED_AGAINST[package]}: read its private uses again, run this "
        "file, then update CHECKED_AGAINST and the bound in pyproject.toml"
    )


async def test_a_whole_function_runs_on_the_connections_own_thread(tmp_path: Path) -> None:
    assert PrivateApi.one_hop, "aiosqlite.Connection._execute is gone: writes lose their one hop"
    loop_thread = threading.get_ident()
    conn = await aiosqlite.connect(tmp_path / "x.db")
    try:

        def work(a: int, b: int) -> tuple[int, int]:
            return threading.get_ident(), a + b

        first = await PrivateApi.run_on_connection_thread(conn, work, 2, 3)
        second = await PrivateApi.run_on_connection_thread(conn, work, 4, 5)
        assert first[1] == 5 and second[1] == 9
        assert first[0] == second[0] != loop_thread
        with pytest.raises(ZeroDivisionError):  # errors reach the caller as they are
            await PrivateApi.run_on_connection_thread(conn, lambda: 1 / 0)
    finally:
        await conn.close()


def _execute(raw: sqlite3.Connection, stmt: sa.ClauseElement, params: dict) -> list[tuple]:  # type: ignore[type-arg]
    sql, bound = PrivateApi.sql(stmt, params)
    return raw.execute(sql, bound).fetchall()


def test_plain_statements_take_row_dicts_as_they_are() -> None:
    insert = ITEMS.insert().values(id=sa.bindparam("id"), name=sa.bindparam("name"))
    entry = PrivateApi.compile(insert)
    assert entry.plain
    assert PrivateApi.compile(insert) is entry  # compiled once, found again by identity
    row = {"id": 1, "name": "a"}
    assert PrivateApi.bind(entry, row) is row  # no per-row mapping
    raw = sqlite3.connect(":memory:")
    raw.execute(CREATE)
    raw.executemany(entry.compiled.string, [row, {"id": 2, "name": "b"}])
    assert raw.execute("SELECT id, name FROM items ORDER BY id").fetchall() == [
        (1, "a"),
        (2, "b"),
    ]


def test_bound_values_type_processing_and_in_lists_are_not_plain() -> None:
    raw = sqlite3.connect(":memory:")
    raw.execute(CREATE)
    raw.execute("INSERT INTO items VALUES (1, 'a', NULL), (2, 'b', NULL), (3, 'c', NULL)")
    literal = sa.select(ITEMS.c.name).where(ITEMS.c.id == 2)  # a value inside the statement
    assert not PrivateApi.compile(literal).plain
    assert _execute(raw, literal, {}) == [("b",)]
    expanding = sa.select(ITEMS.c.id).where(ITEMS.c.name.in_(sa.bindparam("names", expanding=True)))
    assert not PrivateApi.compile(expanding).plain
    assert sorted(_execute(raw, expanding, {"names": ["a", "c"]})) == [(1,), (3,)]
    scored = ITEMS.update().where(ITEMS.c.id == sa.bindparam("key")).values(score=sa.bindparam("s"))
    assert not PrivateApi.compile(scored).plain  # Float has a bind processor on SQLite
    _execute(raw, scored, {"key": 1, "s": 2.5})  # values go to sqlite3 as given (see bind)
    assert raw.execute("SELECT score FROM items WHERE id = 1").fetchone() == (2.5,)


async def test_an_asyncpg_connection_shows_its_socket(pg_url: str) -> None:
    """``postgres_pool.closed_or_closing`` looks at it: idle, nothing waits on it."""
    import asyncpg

    from smithers.store.postgres_pool import closed_or_closing
    from tests.conftest import PG_URL

    conn = await asyncpg.connect(PG_URL)
    try:
        sock = PrivateApi.asyncpg_socket(conn)
        assert sock is not None and sock.fileno() >= 0
        assert not closed_or_closing(conn)
    finally:
        await conn.close()
    assert closed_or_closing(conn)
