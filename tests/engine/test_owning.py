"""A mirror copy names its run's database without the password; opening it again finds the
password in the workflow's own ``db=`` (or leaves it to the environment)."""

from __future__ import annotations

import logging

import pytest

from smithers.engine.owning import usable_url
from smithers.store.urls import database_identity

SECRET = "s3cr3t-PASSWORD"
PINNED = f"postgresql://ann:{SECRET}@db.example:5432/app?schema=runs"
STORED = database_identity(PINNED)


def _pinning(db: str) -> str:
    return f"""
        from smithers import workflow, Task
        @workflow("pinned", db={db!r})
        def build(ctx):
            return Task("a", value=1)
    """


async def test_the_workflows_own_db_supplies_the_password(write_workflow) -> None:  # type: ignore[no-untyped-def]
    path = write_workflow(_pinning(PINNED))
    assert SECRET not in STORED
    assert await usable_url(STORED, str(path)) == PINNED


async def test_a_workflow_pinning_another_database_is_not_used(write_workflow) -> None:  # type: ignore[no-untyped-def]
    path = write_workflow(_pinning(PINNED.replace("schema=runs", "schema=other")))
    assert await usable_url(STORED, str(path)) == STORED


async def test_without_the_workflow_the_stored_url_is_opened(write_workflow, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The environment (PGPASSWORD, ~/.pgpass) then supplies the password."""
    assert await usable_url(STORED, None) == STORED
    assert await usable_url(STORED, str(tmp_path / "gone.py")) == STORED


async def test_a_workflow_that_fails_to_load_is_logged_without_its_message(
    write_workflow, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    path = write_workflow(f"raise RuntimeError('cannot reach {PINNED}')\n")
    with caplog.at_level(logging.WARNING):
        assert await usable_url(STORED, str(path)) == STORED
    assert "cannot be loaded" in caplog.text
    assert SECRET not in caplog.text
