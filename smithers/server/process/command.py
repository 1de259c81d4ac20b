"""The ``smithers server`` command: its flags and how they become ``ServerSettings``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from smithers.server.process.settings import ServerSettings

__all__ = ["add_server_arguments", "main", "settings_from_args"]


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``smithers server``."""
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7331, help="TCP port; 0 picks a free one")
    parser.add_argument(
        "--db",
        default="sqlite:///./smithers.db",
        help="server database (path or URL; 'none' for no server database)",
    )
    parser.add_argument("--root", default=".", help="workflow files must be inside it (default .)")
    parser.add_argument(
        "--auth-token",
        help="bearer token (default $SMITHERS_API_KEY); one that starts with - goes as "
        "--auth-token=VALUE",
    )
    parser.add_argument("--max-body-bytes", type=int, default=1_048_576, help="request body limit")
    parser.add_argument(
        "--allow-network",
        action="store_true",
        help="let the bash tool reach the network",
    )
    add_sandbox(parser)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=os.environ.get("SMITHERS_LOG_FORMAT", "text"),
        help="log lines as text (default) or as JSON objects on stderr, one per line",
    )
    parser.add_argument(
        "--header-read-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="time a client has to send a request's headers; also the keep-alive idle time "
        "(default 10)",
    )
    parser.add_argument(
        "--body-read-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="time a client has to send a whole request body, else 408 (default 30)",
    )


def add_sandbox(parser: argparse.ArgumentParser) -> None:
    """``--sandbox bwrap|none``: how the bash tool's commands are confined in this process."""
    parser.add_argument(
        "--sandbox",
        choices=("bwrap", "none"),
        default="bwrap",
        help="the bash tool's sandbox: bwrap (default) or none — UNSAFE: commands then run "
        "unconfined, with this process's files and network (docs/tools.md)",
    )


def settings_from_args(args: argparse.Namespace) -> ServerSettings:
    """Settings from parsed flags (and ``SMITHERS_API_KEY``)."""
    db = None if args.db.lower() == "none" else args.db
    if db is not None and db.startswith("sqlite:///./"):
        db = "sqlite:///" + os.path.abspath(db[len("sqlite:///") :])
    if args.workers < 1:
        raise ValueError("--workers must be at least 1")
    return ServerSettings(
        host=args.host,
        port=args.port,
        db=db,
        auth_token=args.auth_token
        if args.auth_token is not None
        else os.environ.get("SMITHERS_API_KEY"),
        max_body_bytes=args.max_body_bytes,
        root_dir=Path(os.path.abspath(args.root)),
        allow_network=bool(args.allow_network),
        sandbox=args.sandbox,
        workers=args.workers,
        header_read_timeout=args.header_read_timeout,
        body_read_timeout=args.body_read_timeout,
        log_format=args.log_format,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m smithers.server``: the same as ``smithers server``."""
    from smithers.server.process.runner import run_server

    parser = argparse.ArgumentParser(
        prog="smithers server", description="The Smithers HTTP server."
    )
    add_server_arguments(parser)
    args = parser.parse_args(argv)
    from smithers.tracing.setup import TracingUnavailable, check_environment

    try:
        settings = settings_from_args(args)
        check_environment()
    except (ValueError, TracingUnavailable) as exc:
        parser.error(str(exc))
    return run_server(settings)
