"""Where a mirrored run lives: its config names the owning database by a URL without secrets.

Rows never hold a password (see ``smithers.store.urls``), so opening the owning database of a
mirror copy needs the password from somewhere else: the workflow file the run was started
from pins that database with ``db=``, password included; failing that, the environment
(``PGPASSWORD``, ``~/.pgpass``, which asyncpg reads) supplies it for the stored URL itself.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from smithers.authoring.loader import load_workflow
from smithers.errors import SmithersError
from smithers.store.urls import database_identity

__all__ = ["usable_url"]

log = logging.getLogger(__name__)


async def usable_url(stored: str, workflow_path: str | None) -> str:
    """A URL that opens the database ``stored`` (a URL without secrets) names."""
    if workflow_path:
        pinned = await asyncio.to_thread(_pinned_db, Path(workflow_path))
        if pinned is not None and _same_database(pinned, stored):
            return pinned
    return stored


def _same_database(a: str, b: str) -> bool:
    try:
        return database_identity(a) == database_identity(b)
    except ValueError:  # an unsupported URL names no database this process can open
        return False


def _pinned_db(path: Path) -> str | None:
    try:
        return load_workflow(path).pinned_db
    except (SmithersError, OSError, ValueError) as exc:
        # Said without the exception's text: the workflow's db= may be in it.
        log.warning(
            "workflow %s cannot be loaded to find its database (%s)", path, type(exc).__name__
        )
        return None
