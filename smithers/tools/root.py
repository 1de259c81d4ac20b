"""A run's root folder, held open; every path a file tool touches is resolved beneath it.

Confinement is the kernel's, not string checks: each path is opened with ``openat2`` and
``RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`` relative to a descriptor of the root, so ``..``,
absolute symlinks, symlinks that lead out (including one swapped in between a check and the
use: there is no separate check) and ``/proc/self/root`` style magic links all fail inside
the one system call that opens the file. Where the kernel has no ``openat2`` (before Linux
5.6), paths are walked one component at a time with ``O_NOFOLLOW``, which refuses every
symlink: stricter, and as race-free.

A regular file with more than one hard link may have another name outside the root, so it
is refused for reading and editing; writes replace files by rename and never modify an
existing inode in place.

What the server trusts inside the root (``smithers.tools.policy``) is checked on the real
path of what was opened — the kernel's name for the descriptor, so a symlink or ``..`` that
stays inside the root leads to the same answer: a hidden database is ``PATH_PROTECTED`` to
read, a protected file or folder ``PATH_PROTECTED`` to change.
"""

from __future__ import annotations

import ctypes
import errno
import os
import posixpath
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from smithers.errors import InvalidToolInput, PathOutsideRoot
from smithers.tools.policy import TrustPolicy, policy_for

__all__ = ["Root"]

_SYS_OPENAT2 = 437  # the same number on every Linux architecture (the unified syscall table)
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_BENEATH = 0x08


class _OpenHow(ctypes.Structure):
    _fields_ = (
        ("flags", ctypes.c_uint64),
        ("mode", ctypes.c_uint64),
        ("resolve", ctypes.c_uint64),
    )


_libc = ctypes.CDLL(None, use_errno=True)
_openat2_works: bool | None = None
"""Whether the kernel has ``openat2``; learnt at the first call."""


def _openat2(dir_fd: int, path: str, flags: int, mode: int) -> int:
    mode = mode if flags & os.O_CREAT else 0  # openat2 refuses a mode it would not use
    how = _OpenHow(flags | os.O_CLOEXEC, mode, _RESOLVE_BENEATH | _RESOLVE_NO_MAGICLINKS)
    fd = int(_libc.syscall(_SYS_OPENAT2, dir_fd, os.fsencode(path), ctypes.byref(how), 24))
    if fd < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), path)
    return fd


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _open_no_link(name: str, flags: int, mode: int, dir_fd: int) -> int:
    """``name`` in ``dir_fd``, refused (``ELOOP``) when it is a symlink."""
    try:
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ENOTDIR, errno.ELOOP) and _is_link(name, dir_fd):
            raise OSError(errno.ELOOP, "symlinks are not followed", name) from None
        raise


def real_path(fd: int) -> Path:
    """The kernel's absolute name of what ``fd`` is open on."""
    return Path(os.readlink(f"/proc/self/fd/{fd}"))


class Root:
    """The root folder of a run, open for the lifetime of this object."""

    def __init__(self, path: str | os.PathLike[str], policy: TrustPolicy | None = None) -> None:
        self.path = Path(os.path.realpath(path))
        self.policy = policy if policy is not None else policy_for(self.path)
        self._fd = os.open(self.path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)

    def close(self) -> None:
        """Release the root's descriptor."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Root:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def relative(self, given: str) -> str:
        """``given`` as a path relative to the root (``"."`` for the root itself).

        Absolute paths must name a place inside the root (as the root's real path spells
        it); this is lexical only: what the path leads to is decided when it is opened.
        """
        if not isinstance(given, str) or not given or "\0" in given:
            raise InvalidToolInput("path must be a non-empty string without NUL bytes")
        pure = PurePosixPath(given)
        if pure.is_absolute():
            try:
                pure = pure.relative_to(PurePosixPath(self.path))
            except ValueError:
                raise PathOutsideRoot(f"{given} is outside the run's root") from None
        text = posixpath.normpath(str(pure))
        if text == ".." or text.startswith("../"):
            # a clearer answer than "does not exist"; the kernel refuses it in any case
            raise PathOutsideRoot(f"{given} is outside the run's root")
        return str(pure) if text != "." else "."

    def open(self, given: str, flags: int, mode: int = 0o644) -> int:
        """A descriptor for ``given`` opened beneath the root with ``flags``."""
        rel = self.relative(given)
        try:
            return self._open_beneath(rel, flags, mode)
        except OSError as exc:
            raise self._refusal(given, exc) from None

    @contextmanager
    def opened(self, given: str, flags: int, mode: int = 0o644) -> Iterator[int]:
        """``open`` as a context manager that closes the descriptor."""
        fd = self.open(given, flags, mode)
        try:
            yield fd
        finally:
            os.close(fd)

    def read_bytes(self, given: str, limit: int) -> tuple[bytes, bool]:
        """Up to ``limit`` bytes of a regular file, and whether there was more."""
        chunks, size = [], 0
        for chunk in self.read_chunks(given, limit + 1):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                break
        data = b"".join(chunks)
        return data[:limit], len(data) > limit

    def read_chunks(self, given: str, chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
        """The bytes of a regular file, in chunks of at most ``chunk_bytes``; refused (before
        the first chunk) when it is not a regular file, has other hard links or is hidden."""
        with self.opened(given, os.O_RDONLY | os.O_NONBLOCK) as fd:
            if self.policy.hidden:
                self.policy.check_read(real_path(fd), given)
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise InvalidToolInput(f"{given} is not a regular file")
            if info.st_nlink > 1:
                raise PathOutsideRoot(f"{given} has other hard links, which may lie outside")
            while chunk := os.read(fd, min(1 << 20, chunk_bytes)):
                yield chunk

    def parent_of(self, given: str, *, create: bool) -> tuple[int, str]:
        """A descriptor of the folder that holds ``given`` (created with ``create``) and the
        final name, to replace what is there: ``PATH_PROTECTED`` when no tool may change it.
        The caller closes the descriptor."""
        rel = PurePosixPath(self.relative(given))
        name = rel.name
        if name in ("", ".", ".."):
            raise InvalidToolInput(f"{given} does not name a file")
        folder = str(rel.parent)
        if create:
            self._make_folders(folder, given)
        fd = self.open(folder, os.O_PATH | os.O_DIRECTORY)
        try:
            self.policy.check_write(real_path(fd) / name, given)
        except BaseException:
            os.close(fd)
            raise
        return fd, name

    def hides(self, folder_fd: int) -> frozenset[str]:
        """The names in the folder open as ``folder_fd`` that no tool may see."""
        if not self.policy.hidden:
            return frozenset()
        folder = real_path(folder_fd)
        return frozenset(p.name for p in self.policy.hidden if p.parent == folder)

    def _make_folders(self, folder: str, given: str) -> None:
        # Each folder is made inside its parent as opened beneath the root, so a parent
        # swapped for a symlink meanwhile cannot lead a mkdir outside.
        parts = [p for p in PurePosixPath(folder).parts if p != "."]
        fd = os.dup(self._fd)
        try:
            for index, part in enumerate(parts):
                if part != "..":
                    try:
                        os.mkdir(part, 0o755, dir_fd=fd)
                    except FileExistsError:
                        pass
                prefix = "/".join(parts[: index + 1])
                child = self._open_beneath(prefix, os.O_PATH | os.O_DIRECTORY, 0)
                os.close(fd)
                fd = child
        except OSError as exc:
            raise self._refusal(given, exc) from None
        finally:
            os.close(fd)

    def _open_beneath(self, rel: str, flags: int, mode: int) -> int:
        global _openat2_works
        if _openat2_works is not False:
            try:
                fd = _openat2(self._fd, rel, flags, mode)
                _openat2_works = True
                return fd
            except OSError as exc:
                if exc.errno != errno.ENOSYS:
                    raise
                _openat2_works = False
        return self._walk_nofollow(rel, flags, mode)

    def _walk_nofollow(self, rel: str, flags: int, mode: int) -> int:
        parts = [p for p in PurePosixPath(rel).parts if p != "."]
        if ".." in parts:
            raise OSError(errno.EXDEV, "path climbs out of the root", rel)
        fd = os.dup(self._fd)
        try:
            for part in parts[:-1]:
                child = _open_no_link(part, os.O_PATH | os.O_DIRECTORY, 0, fd)
                os.close(fd)
                fd = child
            if not parts:
                return os.open(".", flags | os.O_CLOEXEC, mode, dir_fd=fd)
            return _open_no_link(parts[-1], flags, mode, fd)
        finally:
            os.close(fd)

    def _refusal(self, given: str, exc: OSError) -> Exception:
        if exc.errno in (errno.EXDEV, errno.ELOOP, errno.EPERM):
            return PathOutsideRoot(f"{given} is outside the run's root")
        if exc.errno == errno.ENOENT:
            return InvalidToolInput(f"{given} does not exist")
        if exc.errno == errno.ENOTDIR:
            return InvalidToolInput(f"a part of {given} is not a folder")
        if exc.errno == errno.EISDIR:
            return InvalidToolInput(f"{given} is a folder")
        return InvalidToolInput(f"{given}: {exc.strerror}")
