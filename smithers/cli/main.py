"""Dispatch of the ``smithers`` command: parse, run the handler, map errors to exit codes.

To add a command: an ``add_<name>`` function in ``parser.COMMAND_PARSERS`` and a
``"module:function"`` entry in ``HANDLERS`` (an async function of the parsed arguments that
returns the exit code).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from smithers.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_SIGINT, CliError
from smithers.cli.parser import COMMAND_PARSERS, build_parser
from smithers.errors import InvalidRequest, RunConflict, RunNotFound, SmithersError
from smithers.secrets import install_log_redaction, redact

__all__ = ["HANDLERS", "run"]

Handler = Callable[[argparse.Namespace], Coroutine[Any, Any, int] | int]

HANDLERS: dict[str, str] = {
    "up": "smithers.cli.up:run_up",
    "server": "smithers.cli.server:run_server_command",
    "ps": "smithers.cli.inspect:run_ps",
    "inspect": "smithers.cli.inspect:run_inspect",
    "events": "smithers.cli.events:run_events",
    "approve": "smithers.cli.manage:run_decision",
    "deny": "smithers.cli.manage:run_decision",
    "signal": "smithers.cli.manage:run_signal",
    "cancel": "smithers.cli.manage:run_cancel",
    "resume": "smithers.cli.up:run_resume",
}
"""Command → ``module:function`` of its handler, imported only when the command runs."""


def _handler(command: str) -> Handler:
    module_name, _, function = HANDLERS[command].partition(":")
    handler: Handler = getattr(importlib.import_module(module_name), function)
    return handler


def _with_shorthand(argv: list[str]) -> list[str]:
    """``smithers <file.py> ...`` is ``smithers up <file.py> ...``."""
    if argv and argv[0].endswith(".py") and argv[0] not in COMMAND_PARSERS:
        return ["up", *argv]
    return argv


def _silence_broken_stdout() -> None:
    """A reader of our stdout went away (``| head``): stop writing there quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def run(argv: Sequence[str]) -> int:
    """Parse ``argv`` and run the command; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(_with_shorthand(list(argv)))
    except SystemExit as exc:  # argparse: 0 for --help/--version, 2 for usage errors
        return EXIT_BAD_INPUT if exc.code not in (0, None) else 0
    if args.command is None:
        parser.print_help()
        return 0
    install_log_redaction()  # the engine's warnings, printed by logging's last resort
    try:
        result = _handler(args.command)(args)
        # A handler is async, except ``server``: Granian runs its own processes and loops.
        return asyncio.run(result) if asyncio.iscoroutine(result) else int(result)
    except CliError as exc:
        sys.stderr.write(f"smithers: {redact(str(exc))}\n")
        return exc.exit_code
    except SmithersError as exc:  # an engine error no handler translated
        sys.stderr.write(f"smithers: {exc.code}: {redact(exc.message)}\n")
        user_fixable = isinstance(exc, InvalidRequest | RunNotFound | RunConflict)
        return EXIT_BAD_INPUT if user_fixable else EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_SIGINT
    except BrokenPipeError:
        _silence_broken_stdout()
        return 0
