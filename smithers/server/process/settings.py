"""Server settings: one object, each field documented, injectable from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from smithers.server.process.log_format import LogFormat
from smithers.tools.shell import SandboxMode

__all__ = ["ServerSettings"]


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """How a Smithers HTTP server behaves."""

    host: str = "127.0.0.1"
    """Bind address; loopback unless asked."""
    port: int = 7331
    """TCP port; 0 picks a free port."""
    db: str | None = None
    """The server database (path or URL); ``None`` means no server database."""
    auth_token: str | None = None
    """Bearer token; auth is off when unset or empty."""
    max_body_bytes: int = 1_048_576
    """Request body limit; larger bodies get 413."""
    root_dir: Path | None = None
    """Workflow paths must resolve inside it; the tool sandbox root."""
    allow_network: bool = False
    """Whether the built-in bash tool may reach the network."""
    sandbox: SandboxMode = "bwrap"
    """The bash tool's sandbox; ``none`` runs commands unconfined (unsafe, shown in
    ``/health``)."""
    metrics: bool = True
    """Whether ``GET /metrics`` exists."""
    stale_after_ms: int = 15_000
    """A running run whose heartbeat is older than this is claimed by a live server."""
    recovery_interval: float = 1.0
    """Seconds between scans for runs to claim or wake."""
    sse_poll_interval: float = 0.1
    """Seconds between database polls of a streamed run that another process executes (one
    poller per run, shared by all its streams)."""
    sse_keepalive: float = 10.0
    """Seconds of silence before an event stream sends a keep-alive comment."""
    workers: int = 1
    """Granian worker processes (each with its own scheduler)."""
    header_read_timeout: float = 10.0
    """Seconds a client has to send a request's headers (Granian's HTTP/1 header read
    timeout, also how long an idle keep-alive connection stays open); then the connection is
    closed, so idle or trickling connections cannot pile up."""
    body_read_timeout: float = 30.0
    """Seconds a client has to send a request's whole body, from the handler's first read;
    then ``408 REQUEST_TIMEOUT`` and the connection is closed."""
    log_format: LogFormat = "text"
    """``json``: every log line as one JSON object (with ``trace_id``/``span_id``)."""
    extra: Mapping[str, str] = field(default_factory=dict)
    """Reserved for forward-compatible options."""

    def __post_init__(self) -> None:
        if self.max_body_bytes < 0:
            raise ValueError("max_body_bytes must not be negative")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be between 0 and 65535")
        if self.sandbox not in ("bwrap", "none"):
            raise ValueError("sandbox must be 'bwrap' or 'none'")
        if not self.header_read_timeout > 0 or not self.body_read_timeout > 0:
            raise ValueError("read timeouts must be positive")
        if self.log_format not in ("text", "json"):
            raise ValueError("log_format must be 'text' or 'json'")

    @property
    def token(self) -> str | None:
        """The effective token (an empty string counts as unset)."""
        return self.auth_token or None

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> ServerSettings:
        """Settings from ``SMITHERS_*`` variables (how ``smithers server`` configures workers)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if "SMITHERS_HOST" in env:
            values["host"] = env["SMITHERS_HOST"]
        if "SMITHERS_PORT" in env:
            values["port"] = int(env["SMITHERS_PORT"])
        if "SMITHERS_SERVER_DB" in env:
            values["db"] = env["SMITHERS_SERVER_DB"] or None
        values["auth_token"] = env.get("SMITHERS_API_KEY") or None
        if "SMITHERS_MAX_BODY_BYTES" in env:
            values["max_body_bytes"] = int(env["SMITHERS_MAX_BODY_BYTES"])
        if "SMITHERS_ROOT" in env:
            values["root_dir"] = Path(env["SMITHERS_ROOT"])
        if "SMITHERS_ALLOW_NETWORK" in env:
            values["allow_network"] = env["SMITHERS_ALLOW_NETWORK"] == "1"
        if "SMITHERS_SANDBOX" in env:
            values["sandbox"] = env["SMITHERS_SANDBOX"]
        if "SMITHERS_STALE_AFTER_MS" in env:
            values["stale_after_ms"] = int(env["SMITHERS_STALE_AFTER_MS"])
        if "SMITHERS_HEADER_READ_TIMEOUT" in env:
            values["header_read_timeout"] = float(env["SMITHERS_HEADER_READ_TIMEOUT"])
        if "SMITHERS_BODY_READ_TIMEOUT" in env:
            values["body_read_timeout"] = float(env["SMITHERS_BODY_READ_TIMEOUT"])
        if "SMITHERS_LOG_FORMAT" in env:
            values["log_format"] = env["SMITHERS_LOG_FORMAT"]
        values.update(overrides)
        return replace(cls(), **values)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """The variables ``from_env`` reads back (for worker processes)."""
        env = {
            "SMITHERS_HOST": self.host,
            "SMITHERS_PORT": str(self.port),
            "SMITHERS_SERVER_DB": self.db or "",
            "SMITHERS_API_KEY": self.auth_token or "",
            "SMITHERS_MAX_BODY_BYTES": str(self.max_body_bytes),
            "SMITHERS_ALLOW_NETWORK": "1" if self.allow_network else "0",
            "SMITHERS_SANDBOX": self.sandbox,
            "SMITHERS_STALE_AFTER_MS": str(self.stale_after_ms),
            "SMITHERS_HEADER_READ_TIMEOUT": repr(self.header_read_timeout),
            "SMITHERS_BODY_READ_TIMEOUT": repr(self.body_read_timeout),
            "SMITHERS_LOG_FORMAT": self.log_format,
        }
        if self.root_dir is not None:
            env["SMITHERS_ROOT"] = str(self.root_dir)
        return env
