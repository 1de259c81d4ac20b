"""A run's ``config_json`` never carries a database password, even one an older row holds."""

from __future__ import annotations

import json
from pathlib import Path

from smithers.engine.run_loop import RunConfig
from smithers.engine.run_options import (
    StartOptions,
    options_from_config,
    redacted_config,
    stored_config,
)

WITH_PASSWORD = "postgresql+asyncpg://ann:s3cr3t@h/app?schema=runs"


def test_stored_config_names_the_database_without_its_password() -> None:
    options = StartOptions(max_concurrency=3, db_url=WITH_PASSWORD)
    stored = stored_config(options, RunConfig(3, Path("/srv")))
    assert "s3cr3t" not in stored
    assert options_from_config(stored).db_url == "postgresql+asyncpg://ann@h/app?schema=runs"
    assert options_from_config(stored).max_concurrency == 3


def test_an_older_rows_password_is_not_shown() -> None:
    older = json.dumps({"maxConcurrency": None, "rootDir": "/srv", "dbUrl": WITH_PASSWORD})
    shown = redacted_config(older)
    assert shown is not None and "s3cr3t" not in shown
    assert json.loads(shown) == {
        **json.loads(older),
        "dbUrl": "postgresql+asyncpg://ann@h/app?schema=runs",
    }
    clean = '{"maxConcurrency":null,"rootDir":"/srv","allowNetwork":false}'
    assert redacted_config(clean) is clean  # nothing to hide: the stored text as it is
    assert redacted_config(None) is None and redacted_config("not json") == "not json"
