"""The file tools: ``read``, ``write``, ``edit``, ``grep``, ``glob``, confined to a ``Root``.

Every path goes through ``Root`` (opened beneath the run's root by the kernel); tree walks use
``os.fwalk`` with descriptors and never follow symlinks, so a folder swapped for a link
during a walk leads nowhere.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass

import msgspec

from smithers.errors import InvalidToolInput, ToolError
from smithers.tools.budget import Budget
from smithers.tools.lines import LineWindow
from smithers.tools.matching import compile_glob, compile_grep, matching_lines
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
    root: Root,
    path: str,
    offset: int = 0,
    limit: int = 2000,
    *,
    limits: FileLimits = FileLimits(),
    budget: Budget | None = None,
) -> ReadResult:
    """Lines ``offset``… of a text file, numbered from 1, at most ``limit`` lines.

    The file is read through once, however large (``lines`` counts all its lines), and only
    the lines shown are kept (``smithers.tools.lines``)."""
    if offset < 0 or limit < 1:
        raise InvalidToolInput("offset must be ≥ 0 and limit ≥ 1")
    budget = budget or Budget()
    decoder = codecs.getincrementaldecoder("utf-8")()
    window = LineWindow(offset, offset + limit, limits.max_output_bytes)
    try:
        for index, chunk in enumerate(root.read_chunks(path)):
            budget.check()
            if index == 0 and b"\0" in chunk[:_SNIFF]:
                raise InvalidToolInput(f"{path} is a binary file")
            decoder.decode(chunk)
            window.feed(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise InvalidToolInput(f"{path} is not UTF-8 text") from None
    window.finish()
    shown, size, truncated = [], 0, offset + limit < window.count
    for number, line in enumerate(window.kept, start=offset + 1):
        entry = f"{number:>6}\t{line.decode(errors='ignore')}"
        size += len(entry.encode()) + 1
        if size > limits.max_output_bytes:
            truncated = True
            break
        shown.append(entry)
    return ReadResult(path=path, text="\n".join(shown), lines=window.count, truncated=truncated)


def write_file(root: Root, path: str, content: str, *, budget: Budget | None = None) -> WriteResult:
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
    budget: Budget | None = None,
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


def _each_file(root: Root, path: str, budget: Budget) -> Iterator[tuple[str, str, int]]:
    """Yield (path relative to the root, name, folder fd) of each regular file under
    ``path``, walking by descriptors and never following a symlink; what the root hides
    (its protected databases) is left out. A ``path`` naming a file yields that file."""
    rel = root.relative(path)
    with root.opened(rel, os.O_PATH) as probe:
        is_file = stat.S_ISREG(os.fstat(probe).st_mode)
    if is_file:
        parent, name = posixpath.split(rel)
        with root.opened(parent or ".", os.O_RDONLY | os.O_DIRECTORY) as parent_fd:
            if name not in root.hides(parent_fd):
                yield rel, name, parent_fd
        return
    top = root.open(rel, os.O_RDONLY | os.O_DIRECTORY)
    try:
        prefix = "" if rel == "." else rel.rstrip("/") + "/"
        for folder, dirs, files, dir_fd in os.fwalk(".", dir_fd=top, follow_symlinks=False):
            budget.check()
            dirs.sort()
            hidden = root.hides(dir_fd)
            base = prefix + ("" if folder == "." else folder[2:] + "/")
            for name in sorted(files):
                if name not in hidden:
                    yield base + name, name, dir_fd
    finally:
        os.close(top)


def glob_paths(
    root: Root, pattern: str, path: str = ".", *, budget: Budget | None = None
) -> GlobResult:
    """Files under ``path`` whose path relative to it matches ``pattern``, newest first."""
    matcher = compile_glob(pattern)
    budget = budget or Budget()
    rel = root.relative(path)
    skip = 0 if rel == "." else len(rel.rstrip("/")) + 1
    found: list[tuple[float, str]] = []
    for relative, name, dir_fd in _each_file(root, path, budget):
        if not matcher.fullmatch(relative[skip:]):
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
    budget: Budget | None = None,
) -> GrepResult:
    """``path:line:text`` for each line matching the regular expression ``pattern``.

    The pattern is an RE2 regular expression (``smithers.tools.matching``) and only that: no
    program parses it, so a pattern such as ``--pre=sh`` is searched for as text."""
    if max_results < 1:
        raise InvalidToolInput("max_results must be ≥ 1")
    program = compile_grep(pattern, ignore_case)
    matcher = compile_glob(glob) if glob else None
    budget = budget or Budget()
    matches: list[str] = []
    size = 0
    for relative, name, dir_fd in _each_file(root, path, budget):
        if matcher is not None and not matcher.fullmatch(name) and not matcher.fullmatch(relative):
            continue
        data = _read_text_at(dir_fd, name, limits.max_file_bytes)
        if data is None:
            continue
        if b"\r\n" in data:  # lines end before a CRLF too: "$" matches there
            data = data.replace(b"\r\n", b"\n")
        for number, line in matching_lines(program, data):
            budget.check()
            entry = f"{relative}:{number}:{line.decode()}"
            size += len(entry.encode()) + 1
            if len(matches) >= max_results or size > limits.max_output_bytes:
                return GrepResult(matches=matches, truncated=True)
            matches.append(entry)
    return GrepResult(matches=matches, truncated=False)


def _read_text_at(dir_fd: int, name: str, limit: int) -> bytes | None:
    """The bytes of a small UTF-8 text file with one link, else ``None`` (grep skips it)."""
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
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return data
