"""What every ``smithers`` command shares: exit codes, database choice, output."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_CANCELLED",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_SIGINT",
    "EXIT_SIGTERM",
    "EXIT_SUSPENDED",
    "CliError",
    "default_db",
    "emit_result",
    "find_db",
    "parse_json_object",
    "parse_json_value",
    "wants_json",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CANCELLED = 2
EXIT_SUSPENDED = 3
EXIT_BAD_INPUT = 4
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT) -> None:
        self.exit_code = exit_code
        super().__init__(message)


def default_db(explicit: str | None) -> str:
    """``--db``, else ``SMITHERS_DB``, else ``./smithers.db``."""
    return explicit or os.environ.get("SMITHERS_DB") or str(Path.cwd() / "smithers.db")


def find_db(explicit: str | None) -> str:
    """For read commands: ``--db``, ``SMITHERS_DB``, or the nearest ``smithers.db`` upwards."""
    if explicit or os.environ.get("SMITHERS_DB"):
        return default_db(explicit)
    for folder in (Path.cwd(), *Path.cwd().parents):
        candidate = folder / "smithers.db"
        if candidate.is_file():
            return str(candidate)
    raise CliError("no smithers.db here or in any parent folder: pass --db PATH or set SMITHERS_DB")


def parse_json_value(text: str, what: str) -> Any:
    """Any JSON value from a command-line argument, or a ``CliError`` naming the flag."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}); "
            'quote it for the shell, e.g. \'{"key": "value"}\''
        )


def parse_json_object(text: str, what: str) -> dict[str, Any]:
    """A JSON object from a command-line argument, or a ``CliError`` naming the flag."""
    value = parse_json_value(text, what)
    if not isinstance(value, dict):
        raise CliError(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def wants_json(as_json: bool) -> bool:
    """Whether results are JSON: ``--json`` given, or stdout is not a terminal."""
    return as_json or not sys.stdout.isatty()


def emit_result(result: Any, *, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    """The command's result on stdout: JSON for pipes or ``--json``, readable text otherwise."""
    if wants_json(as_json):
        sys.stdout.write(json.dumps(result, ensure_ascii=False, separators=(",", ":")) + "\n")
    elif human is not None:
        sys.stdout.write(human(result).rstrip("\n") + "\n")
    elif isinstance(result, dict):
        for key, value in result.items():
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            sys.stdout.write(f"{key}: {shown}\n")
    else:
        sys.stdout.write(f"{result}\n")
    sys.stdout.flush()
