"""Apply the ordered migrations of ``schema.MIGRATIONS`` that a database has not seen yet."""

from __future__ import annotations

import time

from sqlalchemy import Connection, insert, select

from smithers.store.schema import MIGRATIONS, schema_version

__all__ = ["apply_migrations"]

_PG_MIGRATION_LOCK = 0x5317_4E25  # serialises concurrent migrators on PostgreSQL


def apply_migrations(conn: Connection) -> None:
    """Run inside one write transaction; concurrent processes apply each step once."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
    schema_version.create(conn, checkfirst=True)
    applied = set(conn.execute(select(schema_version.c.version)).scalars())
    for migration in MIGRATIONS:
        if migration.version in applied:
            continue
        migration.apply(conn)
        conn.execute(
            insert(schema_version).values(
                version=migration.version,
                applied_at_ms=int(time.time() * 1000),
                description=migration.description,
            )
        )
