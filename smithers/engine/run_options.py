"""A run's options and how they are kept in its row's ``config_json``.

``config_json`` is copied into the server database by mirroring and shown by ``GET /v1/runs``,
so the owning database's URL it names (``dbUrl``) never carries a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from smithers.store.urls import decoded_config, redact_url
from smithers.tools.shell import SandboxMode

__all__ = ["RunConfig", "StartOptions", "options_from_config", "stored_config"]


@dataclass(frozen=True, slots=True)
class RunConfig:
    """How one run executes: its options resolved against the workflow's defaults."""

    max_concurrency: int
    root_dir: Path
    allow_network: bool = False
    sandbox: SandboxMode = "bwrap"
    """The bash tool's sandbox: the executing process's setting, never stored with the run
    (a run taken over by another server uses that server's)."""


@dataclass(frozen=True, slots=True)
class StartOptions:
    """Per-run options a caller may give."""

    max_concurrency: int | None = None
    root_dir: Path | None = None
    allow_network: bool = False
    db_url: str | None = None
    """Recorded when the run lives in a database other than the caller's (mirrored runs):
    that database's URL without its password (``Store.identity``)."""
    traceparent: str | None = None
    """The run's W3C trace context, kept with the run while tracing is on: every execution of
    the run (a resume, a wake-up, a claim by another server) continues its trace."""


def stored_config(options: StartOptions, config: RunConfig) -> str:
    """The ``config_json`` of a run started or claimed with these options."""
    data: dict[str, Any] = {
        "maxConcurrency": options.max_concurrency,
        "rootDir": str(config.root_dir),
        "allowNetwork": config.allow_network,
    }
    if options.db_url is not None:
        # Redacted again: a row written before URLs were stored without passwords is cleaned
        # when its run is next claimed.
        data["dbUrl"] = redact_url(options.db_url)
    if options.traceparent is not None:
        data["traceparent"] = options.traceparent
    return msgspec.json.encode(data).decode()


def options_from_config(config_json: str | None) -> StartOptions:
    """The options a run's ``config_json`` recorded (defaults for anything unreadable)."""
    data = decoded_config(config_json)
    if data is None:
        return StartOptions()
    max_concurrency = data.get("maxConcurrency")
    root = data.get("rootDir")
    db_url = data.get("dbUrl")
    traceparent = data.get("traceparent")
    return StartOptions(
        max_concurrency if isinstance(max_concurrency, int) and max_concurrency > 0 else None,
        Path(root) if isinstance(root, str) else None,
        bool(data.get("allowNetwork", False)),
        db_url if isinstance(db_url, str) else None,
        traceparent if isinstance(traceparent, str) else None,
    )
