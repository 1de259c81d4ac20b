"""Opening the database behind a path or URL."""

from __future__ import annotations

from pathlib import Path

from smithers.store.db import Database, normalize_url
from smithers.store.postgres import PostgresDatabase
from smithers.store.sqlite import SqliteDatabase

__all__ = ["open_database"]


def open_database(url: str | Path) -> Database:
    """A ``Database`` for a path or URL (connections open lazily)."""
    normalized = normalize_url(url)
    if normalized.startswith("sqlite"):
        return SqliteDatabase(normalized)
    return PostgresDatabase(normalized)
