"""``smithers server``: the multi-workflow HTTP server."""

from __future__ import annotations

import argparse

from smithers.cli.common import CliError
from smithers.server.process.command import settings_from_args
from smithers.server.process.runner import run_server
from smithers.tracing.setup import TracingUnavailable, check_environment

__all__ = ["run_server_command"]


def run_server_command(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM (runs are interrupted, not cancelled); exit 0."""
    try:
        settings = settings_from_args(args)
        check_environment()  # each worker switches tracing on; a missing extra fails here
    except (ValueError, TracingUnavailable) as exc:
        raise CliError(str(exc)) from None
    return run_server(settings)
