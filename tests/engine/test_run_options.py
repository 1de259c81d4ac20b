"""A run's ``config_json`` never carries a database password."""

from __future__ import annotations

from pathlib import Path

from smithers.engine.run_options import RunConfig, StartOptions, options_from_config, stored_config

WITH_PASSWORD = "postgresql+asyncpg://ann:s3cr3t@h/app?schema=runs"


def test_stored_config_names_the_database_without_its_password() -> None:
    options = StartOptions(max_concurrency=3, db_url=WITH_PASSWORD)
    stored = stored_config(options, RunConfig(3, Path("/srv")))
    assert "s3cr3t" not in stored
    assert options_from_config(stored).db_url == "postgresql+asyncpg://ann@h/app?schema=runs"
    assert options_from_config(stored).max_concurrency == 3
