"""The file tools: ``read``, ``write``, ``edit``, ``grep``, ``glob``, confined to a ``Root``.

Every path goes through ``Root`` (opened beneath the run's root by the kernel); tree walks use
``os.fwalk`` with descriptors and never follow symlinks, so a folder swapped for a link
during a walk leads nowhere.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import msgspec

from smithers.errors import InvalidToolInput, ToolError
from smithers.tools.root import Root

__all__ = [
    "DEFAULT_MAX_OUTPUT_BYTES",
    "EditResult",
    "FileLimits",
    "GlobResult",
    "GrepResult",
    "ReadResult",
    "WriteResult",
    "edit_file",
    "glob_paths",
    "grep_files",
    "read_file",
    "write_file",
]

DEFAULT_MAX_OUTPUT_BYTES = 200_000
GLOB_LIMIT = 1_000
_SNIFF = 8192


class ToolResult(msgspec.Struct, rename="camel", kw_only=True):
    """Base of tool results (camelCase when encoded for a model or an event)."""


class ReadResult(ToolResult):
    path: str
    text: str
    lines: int
    truncated: bool


class WriteResult(ToolResult):
    path: str
    bytes: int
    sha256: str


class EditResult(ToolResult):
    path: str
    replacements: int


class GrepResult(ToolResult):
    matches: list[str]
    truncated: bool


class GlobResult(ToolResult):
    paths: list[str]
    truncated: bool


@dataclass(frozen=True, slots=True)
class FileLimits:
    """How much a file tool reads or returns."""

    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    max_file_bytes: int = 10 * 1024 * 1024
    """Largest file ``read``, ``edit`` and ``grep`` look into."""


def _text_of(given: str, data: bytes) -> str:
    if b"\0" in data[:_SNIFF]:
        raise InvalidToolInput(f"{given} is a binary file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidToolInput(f"{given} is not UTF-8 text") from None


def read_file(
    root: Root, path: str, offset: int = 0, limit: int = 2000, *, limits: FileLimits = FileLimits()
) -> ReadResult:
    """Lines ``offset``… of a text file, numbered from 1, at most ``limit`` lines."""
    if offset < 0 or limit < 1:
        raise InvalidToolInput("offset must be ≥ 0 and limit ≥ 1")
    data, _ = root.read_bytes(path, limits.max_file_bytes)
    lines = _text_of(path, data).splitlines()
    shown, size, truncated = [], 0, offset + limit < len(lines)
    for number, line in enumerate(lines[offset : offset + limit], start=offset + 1):
        entry = f"{number:>6}\t{line}"
        size += len(entry.encode()) + 1
        if size > limits.max_output_bytes:
            truncated = True
            break
        shown.append(entry)
    return ReadResult(path=path, text="\n".join(shown), lines=len(lines), truncated=truncated)


def write_file(root: Root, path: str, content: str) -> WriteResult:
    """Create or replace a file atomically (a temporary file renamed over it)."""
    data = content.encode("utf-8")
    folder, name = root.parent_of(path, create=True)
    temp = f".{name}.smithers-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        fd = os.open(
            temp,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o644,
            dir_fd=folder,
        )
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        try:
            os.rename(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
        except IsADirectoryError:
            raise InvalidToolInput(f"{path} is a folder") from None
    except BaseException as exc:
        try:
            os.unlink(temp, dir_fd=folder)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise ToolError(f"writing {path} failed: {exc.strerror}") from None
        raise
    finally:
        os.close(folder)
    return WriteResult(path=path, bytes=len(data), sha256=hashlib.sha256(data).hexdigest())


def edit_file(
    root: Root,
    path: str,
    old: str,
    new: str,
    replace_all: bool = False,
    *,
    limits: FileLimits = FileLimits(),
) -> EditResult:
    """Replace ``old`` by ``new`` exactly (once, unless ``replace_all``)."""
    if not old:
        raise InvalidToolInput("old must not be empty")
    data, more = root.read_bytes(path, limits.max_file_bytes)
    if more:
        raise InvalidToolInput(f"{path} is larger than {limits.max_file_bytes} bytes")
    text = _text_of(path, data)
    count = text.count(old)
    if count == 0:
        raise InvalidToolInput(f"old text not found in {path} (0 occurrences)")
    if count > 1 and not replace_all:
        raise InvalidToolInput(
            f"old text occurs {count} times in {path}: give more context or replace_all"
        )
    write_file(root, path, text.replace(old, new))
    return EditResult(path=path, replacements=count)


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """``**`` any number of folders, ``*`` and ``?`` within one name, ``[...]`` a class."""
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
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _each_file(root: Root, path: str) -> Iterator[tuple[str, str, int]]:
    """Yield (path relative to the root, name, folder fd) of each regular file under
    ``path``, walking by descriptors and never following a symlink."""
    rel = root.relative(path)
    top = root.open(rel, os.O_RDONLY | os.O_DIRECTORY)
    try:
        prefix = "" if rel == "." else rel.rstrip("/") + "/"
        for folder, dirs, files, dir_fd in os.fwalk(".", dir_fd=top, follow_symlinks=False):
            dirs.sort()
            base = prefix + ("" if folder == "." else folder[2:] + "/")
            for name in sorted(files):
                yield base + name, name, dir_fd
    finally:
        os.close(top)


def glob_paths(root: Root, pattern: str, path: str = ".") -> GlobResult:
    """Files under ``path`` whose path relative to it matches ``pattern``, newest first."""
    if not pattern:
        raise InvalidToolInput("pattern must not be empty")
    matcher = _glob_regex(pattern)
    rel = root.relative(path)
    skip = 0 if rel == "." else len(rel.rstrip("/")) + 1
    found: list[tuple[float, str]] = []
    for relative, name, dir_fd in _each_file(root, path):
        if not matcher.match(relative[skip:]):
            continue
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            found.append((info.st_mtime, relative))
    found.sort(key=lambda item: (-item[0], item[1]))
    return GlobResult(paths=[p for _, p in found[:GLOB_LIMIT]], truncated=len(found) > GLOB_LIMIT)


def grep_files(
    root: Root,
    pattern: str,
    path: str = ".",
    glob: str | None = None,
    ignore_case: bool = False,
    max_results: int = 200,
    *,
    limits: FileLimits = FileLimits(),
) -> GrepResult:
    """``path:line:text`` for each line matching the regular expression ``pattern``.

    The pattern is a Python regular expression and only that: no program parses it, so a
    pattern such as ``--pre=sh`` is searched for as text."""
    if max_results < 1:
        raise InvalidToolInput("max_results must be ≥ 1")
    try:
        regex = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise InvalidToolInput(f"pattern is not a valid regular expression: {exc}") from None
    matcher = _glob_regex(glob) if glob else None
    matches: list[str] = []
    size = 0
    for relative, name, dir_fd in _each_file(root, path):
        if matcher is not None and not matcher.match(name) and not matcher.match(relative):
            continue
        text = _read_text_at(dir_fd, name, limits.max_file_bytes)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if regex.search(line):
                entry = f"{relative}:{number}:{line}"
                size += len(entry.encode()) + 1
                if len(matches) >= max_results or size > limits.max_output_bytes:
                    return GrepResult(matches=matches, truncated=True)
                matches.append(entry)
    return GrepResult(matches=matches, truncated=False)


def _read_text_at(dir_fd: int, name: str, limit: int) -> str | None:
    """A small UTF-8 text file with one link, else ``None`` (grep skips it)."""
    try:
        fd = os.open(
            name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd
        )
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1 or info.st_size > limit:
            return None
        data = os.read(fd, limit + 1)
    finally:
        os.close(fd)
    if b"\0" in data[:_SNIFF]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
