"""Argument parsing and dispatch for the ``smithers`` command."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

import smithers
from smithers.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, CliError

COMMANDS = (
    "up",
    "server",
    "ps",
    "inspect",
    "events",
    "approve",
    "deny",
    "signal",
    "cancel",
    "resume",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="smithers",
        description="Durable workflows for AI agents and automation.",
        epilog="`smithers <file.py> ...` is short for `smithers up <file.py> ...`.",
    )
    parser.add_argument("--version", action="version", version=f"smithers {smithers.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="<command>")

    up = commands.add_parser("up", help="run a workflow in the foreground")
    up.add_argument("workflow", help="path of the workflow .py file")
    up.add_argument("-i", "--input", help="run input as a JSON object (default {})")
    up.add_argument("-r", "--run-id", help="explicit run id (default: generated)")
    up.add_argument("--resume", action="store_true", help="resume --run-id from its checkpoint")
    up.add_argument("--force", action="store_true", help="resume even if another process owns it")
    up.add_argument("-c", "--max-concurrency", type=int, help="task concurrency cap")
    up.add_argument("--root", help="sandbox root (default: the workflow's folder)")
    up.add_argument("--db", help="database path or URL (default: $SMITHERS_DB or ./smithers.db)")
    up.add_argument(
        "--allow-network", action="store_true", help="let the bash tool use the network"
    )
    up.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def run(argv: Sequence[str]) -> int:
    """Parse ``argv`` and run the command; returns the exit code."""
    argv = list(argv)
    if argv and argv[0].endswith(".py") and argv[0] not in COMMANDS:
        argv = ["up", *argv]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 0 for --help/--version, 2 for usage errors
        return EXIT_BAD_INPUT if exc.code not in (0, None) else 0
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "up":
            from smithers.cli.up import run_up

            return asyncio.run(run_up(args))
    except CliError as exc:
        sys.stderr.write(f"smithers: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    sys.stderr.write(f"smithers: {args.command} is not available yet\n")
    return EXIT_FAILED
