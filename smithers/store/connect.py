"""Opening the database behind a path or URL."""

from __future__ import annotations

import os
from pathlib import Path

from smithers import secrets
from smithers.store.db import Database, normalize_url
from smithers.store.postgres import PostgresDatabase
from smithers.store.sqlite import SqliteDatabase

__all__ = ["open_database"]


def open_database(url: str | Path) -> Database:
    """A ``Database`` for a path or URL (connections open lazily); its password is known as a
    secret from then on (``smithers.secrets``)."""
    normalized = normalize_url(url)
    if normalized.startswith("sqlite"):
        return SqliteDatabase(normalized)
    secrets.register_url(normalized)
    secrets.register(os.environ.get("PGPASSWORD"))
    return PostgresDatabase(normalized)
