"""Database URLs without their secrets: what Smithers stores, shows and logs.

A URL's password (``user:password@``) and secret query values (``?password=…``,
``?sslpassword=…``, tokens) never leave the process: rows, HTTP answers, CLI output and log
lines carry the URL ``redact_url`` returns. Two URLs that differ only in those secrets name
the same database, so the redacted normalised URL is also a database's identity. Whoever
opens a stored URL again gets the password back from the workflow's own ``db=`` or from the
environment (``PGPASSWORD``, ``~/.pgpass``), never from a row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy.engine import URL, make_url

from smithers.store.db import normalize_url

__all__ = ["database_identity", "decoded_config", "redact_config_json", "redact_url"]

_SECRET_KEY_PARTS = ("password", "passwd", "secret", "token")
_SECRET_KEYS = {"pwd", "pass", "apikey", "api_key"}
_UNPARSABLE = "***"


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return lowered in _SECRET_KEYS or any(part in lowered for part in _SECRET_KEY_PARTS)


def redact_url(url: str) -> str:
    """``url`` without its password and secret query parameters.

    Paths and SQLite URLs (which carry no credentials, and whose paths may hold ``:`` or
    ``@``) come back unchanged; a URL SQLAlchemy cannot parse keeps only its scheme.
    """
    if "://" not in url:
        return url
    scheme = url.split("://", 1)[0]
    if scheme.startswith("sqlite"):
        return url
    try:
        parsed = make_url(url)
    except ValueError:  # e.g. a port that is not a number: no telling where the password ends
        return f"{scheme}://{_UNPARSABLE}"
    host = parsed.host
    if host is not None and "@" in host:
        # An unencoded "@" in the password: SQLAlchemy ends the password at the first "@", so
        # the rest of it sits in front of the host; it is a password all the same.
        host = host.rpartition("@")[2]
    query = {k: v for k, v in parsed.query.items() if not _is_secret(k)}
    # URL.set(password=None) keeps the password (None means "unchanged"): build a new URL.
    bare = URL.create(
        parsed.drivername,
        username=parsed.username or None,
        host=host,
        port=parsed.port,
        database=parsed.database,
        query=query,
    )
    return bare.render_as_string(hide_password=False)


def database_identity(url: str | Path) -> str:
    """Which database ``url`` names, as a normalised URL without secrets (and without a SQLite
    URL's ``synchronous`` option: the same file is the same database)."""
    normalized = normalize_url(url)
    if normalized.startswith("sqlite"):
        return normalized.partition("?")[0]
    return redact_url(normalized)


def redact_config_json(config_json: str | None) -> str | None:
    """A run's ``config_json`` with its ``dbUrl`` redacted; the very same text when there is
    nothing to hide (rows written since URLs are stored redacted, or unreadable ones)."""
    data = decoded_config(config_json)
    url = None if data is None else data.get("dbUrl")
    if data is None or not isinstance(url, str) or redact_url(url) == url:
        return config_json
    return msgspec.json.encode({**data, "dbUrl": redact_url(url)}).decode()


def decoded_config(config_json: str | None) -> dict[str, Any] | None:
    """A run's ``config_json`` as a dict, or ``None`` when it is absent or not an object."""
    if not config_json:
        return None
    try:
        data = msgspec.json.decode(config_json)
    except msgspec.DecodeError:
        return None
    return data if isinstance(data, dict) else None
