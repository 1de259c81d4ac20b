"""Pattern matching for ``grep`` and ``glob``, in linear time whatever the pattern.

Patterns come from a model, so they are untrusted: Python's ``re`` backtracks, and one
pattern such as ``^(a+)+$`` (or a glob of twelve ``*``) would hold the GIL for minutes and
stop the whole server. Both tools match with RE2 (the ``google-re2`` package,
docs/decisions.md): no backtracking, time linear in the text, memory bounded by
``max_mem``, and the GIL released while it matches. RE2 has no backreferences and no
lookaround; such a pattern is ``INVALID_TOOL_INPUT``, as is any pattern it cannot parse.

``grep`` searches a whole file at once with ``never_nl`` (no match spans a newline) and
``(?m)`` (``^`` and ``$`` at each line's start and end): the lines it reports are those a
line-by-line search would, at a fraction of the per-line cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Protocol

import re2

from smithers.errors import InvalidToolInput

__all__ = [
    "MAX_PATTERN_CHARS",
    "GlobProgram",
    "GrepProgram",
    "compile_glob",
    "compile_grep",
    "matching_lines",
]


class _Found(Protocol):
    def start(self) -> int: ...


class GrepProgram(Protocol):
    """A compiled ``grep`` pattern (RE2's, on bytes): as far as the tools use it."""

    def search(self, text: bytes, pos: int) -> _Found | None: ...


class GlobProgram(Protocol):
    """A compiled ``glob`` pattern (RE2's, on a relative path)."""

    def fullmatch(self, text: str) -> object | None: ...


MAX_PATTERN_CHARS = 10_000
_MAX_MEM = 64 << 20
"""RE2's memory for one compiled pattern (its DFA cache falls back to slower, still linear,
matching beyond it)."""


def _options(*, ignore_case: bool = False) -> object:
    options = re2.Options()
    options.log_errors = False  # a model's bad pattern is an answer, not a log line
    options.max_mem = _MAX_MEM
    options.never_nl = True
    options.case_sensitive = not ignore_case
    return options


def _check(pattern: str, what: str) -> None:
    if not isinstance(pattern, str) or not pattern:
        raise InvalidToolInput(f"{what} must not be empty")
    if len(pattern) > MAX_PATTERN_CHARS or "\0" in pattern:
        raise InvalidToolInput(f"{what} must be at most {MAX_PATTERN_CHARS} characters, no NUL")


@lru_cache(maxsize=256)
def compile_grep(pattern: str, ignore_case: bool = False) -> GrepProgram:
    """The RE2 program of a ``grep`` pattern, for bytes (UTF-8)."""
    _check(pattern, "pattern")
    try:
        program: GrepProgram = re2.compile(
            b"(?m)" + pattern.encode(), _options(ignore_case=ignore_case)
        )
        return program
    except re2.error as exc:
        message = exc.args[0].decode(errors="replace") if exc.args else "invalid"
        raise InvalidToolInput(
            f"pattern is not a valid regular expression (RE2 syntax): {message}"
        ) from None


def _literal(char: str) -> str:
    return char if char.isalnum() else f"\\x{{{ord(char):x}}}"


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> GlobProgram:
    """``**`` any number of folders, ``*`` and ``?`` within one name, ``[...]`` a class
    (``[!...]`` its complement); matched against a whole relative path."""
    _check(pattern, "pattern")
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = end + 1
        else:
            out.append(_literal(pattern[i]))
            i += 1
    try:
        program: GlobProgram = re2.compile("".join(out), _options())
        return program
    except re2.error as exc:
        message = exc.args[0].decode(errors="replace") if exc.args else "invalid"
        raise InvalidToolInput(f"glob pattern {pattern!r} is not valid: {message}") from None


def matching_lines(program: GrepProgram, data: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number from 1, line without its newline) of each line of ``data`` that
    ``program`` (from ``compile_grep``) matches, in order, each line once."""
    pos, line_no, counted_to = 0, 1, 0
    size = len(data)
    while pos <= size:
        found = program.search(data, pos)
        if found is None or (found.start() == size and data[-1:] in (b"", b"\n")):
            return  # nothing more, or only the empty "line" after the last newline
        start = data.rfind(b"\n", 0, found.start()) + 1
        end = data.find(b"\n", found.start())
        end = size if end < 0 else end
        line_no += data.count(b"\n", counted_to, start)
        counted_to = start
        yield line_no, data[start:end]
        pos = end + 1
        if pos > size:
            return
