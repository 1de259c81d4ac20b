"""Database URLs lose their secrets before they are stored, shown or compared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smithers.store.db import normalize_url
from smithers.store.urls import database_identity, redact_config_json, redact_url


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("postgresql://ann:s3cr3t@db.example/app", "postgresql://ann@db.example/app"),
        (
            "postgresql+asyncpg://ann:s3cr3t@db.example:6432/app?schema=runs",
            "postgresql+asyncpg://ann@db.example:6432/app?schema=runs",
        ),
        # percent-encoded "@", "/", ":" and "%" inside the password
        ("postgresql://ann:p%40ss%2Fw%3Ad%25@h/app", "postgresql://ann@h/app"),
        # special characters SQLAlchemy reads as they are
        ("postgresql://ann:p:a!s$s*w(o)r;d@h/app", "postgresql://ann@h/app"),
        # an unencoded "@": SQLAlchemy ends the password at the first one
        ("postgresql://ann:p@ss@h/app", "postgresql://ann@h/app"),
        ("postgresql://:s3cr3t@h/app", "postgresql://h/app"),
        (
            "postgresql://ann@h/app?password=s3cr3t&schema=runs&sslpassword=k3y",
            "postgresql://ann@h/app?schema=runs",
        ),
        ("postgresql://h/app?PassWord=s3cr3t&auth_token=t0k3n", "postgresql://h/app"),
        # nothing secret: the same URL
        ("postgresql://ann@h:5432/app?schema=runs", "postgresql://ann@h:5432/app?schema=runs"),
        ("postgresql://h/app", "postgresql://h/app"),
        # SQLite URLs and paths carry no credentials; ":" and "@" are part of the file name
        ("sqlite:////srv/a:b@c.db", "sqlite:////srv/a:b@c.db"),
        ("/srv/ann:s3cr3t@x/smithers.db", "/srv/ann:s3cr3t@x/smithers.db"),
        # unparsable (the port is not a number): only the scheme is left
        ("postgresql://ann:s3cr3t@h:notaport/app", "postgresql://***"),
    ],
)
def test_redact_url_removes_passwords_and_secret_parameters(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_redacted_url_keeps_other_parameters_readable() -> None:
    from sqlalchemy.engine import make_url

    redacted = redact_url("postgresql://ann:pw@h/app?options=-c%20search_path%3Dx&schema=s")
    assert dict(make_url(redacted).query) == {"options": "-c search_path=x", "schema": "s"}


def test_identity_is_equal_for_urls_differing_only_in_secrets(tmp_path: Path) -> None:
    one = database_identity("postgresql://ann:first@h:5432/app?schema=s")
    other = database_identity("postgres://ann:second@h:5432/app?schema=s&password=third")
    assert one == other == "postgresql+asyncpg://ann@h:5432/app?schema=s"
    assert database_identity("postgresql://ann@h/app?schema=a") != database_identity(
        "postgresql://ann@h/app?schema=b"
    )
    assert database_identity(tmp_path / "x.db") == f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"


def test_an_unsupported_url_is_refused_without_repeating_its_password() -> None:
    with pytest.raises(ValueError, match="'mysql'") as raised:
        database_identity("mysql://ann:s3cr3t@h/app")
    assert "s3cr3t" not in str(raised.value)


OLDER_URL = "postgresql+asyncpg://ann:s3cr3t@h/app?schema=runs"


def test_an_older_rows_password_is_not_shown() -> None:
    older = json.dumps({"maxConcurrency": None, "rootDir": "/srv", "dbUrl": OLDER_URL})
    shown = redact_config_json(older)
    assert shown is not None and "s3cr3t" not in shown
    assert json.loads(shown) == {
        **json.loads(older),
        "dbUrl": "postgresql+asyncpg://ann@h/app?schema=runs",
    }
    clean = '{"maxConcurrency":null,"rootDir":"/srv","allowNetwork":false}'
    assert redact_config_json(clean) is clean  # nothing to hide: the stored text as it is
    assert redact_config_json(None) is None and redact_config_json("not json") == "not json"


def test_sqlite_urls_take_only_the_synchronous_option(tmp_path: Path) -> None:
    base = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    assert (
        normalize_url(f"sqlite:///{tmp_path / 'x.db'}?synchronous=FULL")
        == base + "?synchronous=full"
    )
    assert normalize_url(f"sqlite:///{tmp_path / 'x.db'}?synchronous=normal") == base
    assert database_identity(f"sqlite:///{tmp_path / 'x.db'}?synchronous=full") == base
    for bad in ("mode=ro", "synchronous=off", "synchronous=full&mode=ro"):
        with pytest.raises(ValueError, match="synchronous=normal or synchronous=full"):
            normalize_url(f"sqlite:///{tmp_path / 'x.db'}?{bad}")
