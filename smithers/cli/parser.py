"""The ``smithers`` argument parser: one ``add_<command>`` function per subcommand."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

import smithers

if TYPE_CHECKING:
    from typing import TypeAlias

    SubParsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["COMMAND_PARSERS", "build_parser", "non_negative_int", "positive_int"]


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: an integer of at least 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _common(parser: argparse.ArgumentParser, db_help: str) -> None:
    parser.add_argument("--db", help=db_help)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


_FIND_DB = "database path or URL (default: $SMITHERS_DB or the nearest smithers.db upwards)"


def add_up(commands: SubParsers) -> None:
    """``up <workflow.py>``: run a workflow in the foreground."""
    up = commands.add_parser("up", help="run a workflow in the foreground")
    up.add_argument("workflow", help="path of the workflow .py file")
    up.add_argument("-i", "--input", help="run input as a JSON object (default {})")
    up.add_argument("-r", "--run-id", help="explicit run id (default: generated)")
    up.add_argument("--resume", action="store_true", help="resume --run-id from its checkpoint")
    up.add_argument("--force", action="store_true", help="resume even if another process owns it")
    up.add_argument("-c", "--max-concurrency", type=positive_int, help="task concurrency cap")
    up.add_argument("--root", help="sandbox root (default: the workflow's folder)")
    up.add_argument(
        "--allow-network",
        action="store_true",
        help="let the bash tool reach the network",
    )
    from smithers.server.process.command import add_sandbox

    add_sandbox(up)
    _common(up, "database path or URL (default: $SMITHERS_DB or ./smithers.db)")
    serve = up.add_argument_group("serving the run over HTTP")
    serve.add_argument("--serve", action="store_true", help="also serve the run over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="with --serve (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=non_negative_int, default=7331, help="with --serve (default 7331)"
    )
    serve.add_argument(
        "--auth-token",
        help="with --serve (default $SMITHERS_API_KEY); one that starts with - goes as "
        "--auth-token=VALUE",
    )
    serve.add_argument("--no-metrics", action="store_true", help="with --serve: no /metrics")


def add_server(commands: SubParsers) -> None:
    """``server``: the multi-workflow HTTP server under Granian."""
    from smithers.server.process.command import add_server_arguments

    server = commands.add_parser("server", help="start the HTTP server")
    add_server_arguments(server)


def add_ps(commands: SubParsers) -> None:
    """``ps``: recent runs."""
    ps = commands.add_parser("ps", help="list recent runs")
    ps.add_argument("--status", help="only runs with this status (e.g. running, failed)")
    ps.add_argument("--limit", type=positive_int, default=20, help="how many runs (default 20)")
    _common(ps, _FIND_DB)


def add_inspect(commands: SubParsers) -> None:
    """``inspect <runId>``: one run in detail."""
    inspect = commands.add_parser("inspect", help="show a run: nodes, approvals, timers, loops")
    inspect.add_argument("run_id", metavar="runId")
    _common(inspect, _FIND_DB)


def add_events(commands: SubParsers) -> None:
    """``events <runId>``: the run's event log."""
    events = commands.add_parser("events", help="print a run's event log")
    events.add_argument("run_id", metavar="runId")
    events.add_argument(
        "--after-seq", type=int, default=-1, metavar="N", help="only events with seq > N"
    )
    events.add_argument(
        "-f", "--follow", action="store_true", help="keep streaming until the run ends"
    )
    events.add_argument(
        "--type", metavar="T", help="event types or categories, comma-separated (e.g. node,run)"
    )
    events.add_argument("--node", metavar="ID", help="only events of this node")
    _common(events, _FIND_DB)


def _add_decision(commands: SubParsers, name: str) -> None:
    verb = "approve" if name == "approve" else "deny"
    parser = commands.add_parser(name, help=f"{verb} a node waiting for approval")
    parser.add_argument("run_id", metavar="runId")
    parser.add_argument("--node", metavar="ID", help="the waiting node (optional when only one)")
    parser.add_argument("--iteration", type=non_negative_int, help="loop iteration (default 0)")
    parser.add_argument("--note", help="a note stored with the decision")
    parser.add_argument("--by", help="who decides (stored with the decision)")
    _common(parser, _FIND_DB)


def add_approve(commands: SubParsers) -> None:
    """``approve <runId>``."""
    _add_decision(commands, "approve")


def add_deny(commands: SubParsers) -> None:
    """``deny <runId>``."""
    _add_decision(commands, "deny")


def add_signal(commands: SubParsers) -> None:
    """``signal <runId> <name>``."""
    parser = commands.add_parser("signal", help="send a signal to a run")
    parser.add_argument("run_id", metavar="runId")
    parser.add_argument("name", help="the signal name")
    parser.add_argument("--data", metavar="JSON", help="the signal's data as JSON (default {})")
    parser.add_argument("--correlation", metavar="ID", help="correlation id")
    parser.add_argument("--by", help="who sends it (stored with the signal)")
    _common(parser, _FIND_DB)


def add_cancel(commands: SubParsers) -> None:
    """``cancel <runId>``."""
    parser = commands.add_parser("cancel", help="cancel a run")
    parser.add_argument("run_id", metavar="runId")
    _common(parser, _FIND_DB)


def add_resume(commands: SubParsers) -> None:
    """``resume <runId>``: continue a run in the foreground."""
    parser = commands.add_parser("resume", help="continue a run in the foreground")
    parser.add_argument("run_id", metavar="runId")
    parser.add_argument(
        "--workflow", metavar="PATH", help="workflow file (default: the stored one)"
    )
    parser.add_argument("--force", action="store_true", help="even if another process owns it")
    parser.add_argument("-c", "--max-concurrency", type=positive_int, help="task concurrency cap")
    from smithers.server.process.command import add_sandbox

    add_sandbox(parser)
    _common(parser, _FIND_DB)


COMMAND_PARSERS: dict[str, Callable[[SubParsers], None]] = {
    "up": add_up,
    "server": add_server,
    "ps": add_ps,
    "inspect": add_inspect,
    "events": add_events,
    "approve": add_approve,
    "deny": add_deny,
    "signal": add_signal,
    "cancel": add_cancel,
    "resume": add_resume,
}
"""Every subcommand, in help order; ``main.HANDLERS`` says what runs each."""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="smithers",
        description="Durable workflows for AI agents and automation.",
        epilog="`smithers <file.py> ...` is short for `smithers up <file.py> ...`.",
    )
    parser.add_argument("--version", action="version", version=f"smithers {smithers.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="<command>")
    for add in COMMAND_PARSERS.values():
        add(commands)
    return parser
