"""A cap on how many processes one ``bash`` call may have: a pids cgroup of its own.

A PID namespace ends every process of a command when it is killed, but does not bound how
many it makes before then; a fork bomb could exhaust the machine's process table within its
timeout. Where this process may create cgroups (cgroup v1's ``pids`` hierarchy, or a
delegated cgroup v2 subtree, as a root server or a container has), each call runs in a fresh
pids cgroup with ``pids.max``; the command is moved into it by a shell that then ``exec``s the
sandbox, so not one of its processes starts outside. Where no cgroup can be made, calls run
without the cap, and ``available()`` says so (the server reports it at start-up).

The calls' cgroups are children of one cgroup of this process's own, capped at
``SERVER_PIDS_MAX``: however many attempts run commands at once, together they have at most
that many processes (the pids controller counts a cgroup's whole subtree).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import threading
import uuid
from pathlib import Path

__all__ = ["PIDS_MAX", "SERVER_PIDS_MAX", "PidsCgroup", "cgroup_parent"]

PIDS_MAX = 256
"""Processes (and threads) one call may have at once."""

SERVER_PIDS_MAX = 2048
"""Processes (and threads) all the calls of this process may have at once."""

_CGROUP_ROOT = Path("/sys/fs/cgroup")
_ENTER = 'echo $$ > "$0" && exec "$@"'
"""``sh -c`` script: move this shell into the cgroup named by ``$0``, then become the command."""


def _own_cgroup(controller: str | None) -> Path | None:
    """This process's cgroup folder in the v1 hierarchy of ``controller``, or in v2."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller is None and controllers == "":
            return _CGROUP_ROOT / path.lstrip("/")
        if controller is not None and controller in controllers.split(","):
            return _CGROUP_ROOT / controller / path.lstrip("/")
    return None


def _writable_parent() -> Path | None:
    """A folder of this process's cgroups where a pids cgroup can be made, if any."""
    v1 = _own_cgroup("pids")
    if v1 is not None and v1.is_dir() and os.access(v1, os.W_OK):
        return v1
    v2 = _own_cgroup(None)
    if v2 is not None and v2.is_dir() and os.access(v2, os.W_OK):
        with contextlib.suppress(OSError):
            if "pids" in (v2 / "cgroup.subtree_control").read_text().split():
                return v2
    return None


_shared: Path | None = None
_shared_lock = threading.Lock()


def cgroup_parent() -> Path | None:
    """The capped cgroup of this process under which each call's cgroup is made (made on
    first use, removed at exit), or ``None`` where none can be made."""
    global _shared
    with _shared_lock:
        if _shared is not None and _shared.is_dir():
            return _shared
        parent = _writable_parent()
        if parent is None:
            return None
        path = parent / f"smithers-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        if not _make_capped(path, SERVER_PIDS_MAX, delegate=True):
            return None
        _shared = path
        atexit.register(_remove_shared, path)
        return path


def _make_capped(path: Path, pids_max: int, *, delegate: bool = False) -> bool:
    """Make the cgroup ``path`` with ``pids.max`` (with ``delegate``, the controller enabled
    for its children, which cgroup v2 asks for); ``False`` where that cannot be done."""
    try:
        path.mkdir()
        (path / "pids.max").write_text(str(pids_max))
        subtree = path / "cgroup.subtree_control"
        if delegate and subtree.exists():
            subtree.write_text("+pids")
    except OSError:
        with contextlib.suppress(OSError):
            path.rmdir()
        return False
    return True


def _remove_shared(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()


class PidsCgroup:
    """The pids cgroup of one call; ``close()`` kills what is left in it and removes it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, pids_max: int = PIDS_MAX) -> PidsCgroup | None:
        """A new cgroup capped at ``pids_max``, or ``None`` where none can be made."""
        parent = cgroup_parent()
        if parent is None:
            return None
        path = parent / f"smithers-bash-{uuid.uuid4().hex[:12]}"
        if not _make_capped(path, pids_max):
            return None
        return cls(path)

    @staticmethod
    def available() -> bool:
        """Whether calls here get the cap."""
        probe = PidsCgroup.create()
        if probe is None:
            return False
        with contextlib.suppress(OSError):
            probe.path.rmdir()
        return True

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` started inside this cgroup."""
        return ["/bin/sh", "-c", _ENTER, str(self.path / "cgroup.procs"), *argv]

    def current(self) -> int:
        """Processes in the cgroup now."""
        try:
            return int((self.path / "pids.current").read_text())
        except (OSError, ValueError):
            return 0

    async def close(self) -> None:
        """Kill every process still in the cgroup, then remove it."""
        for _ in range(100):
            try:
                pids = (self.path / "cgroup.procs").read_text().split()
            except OSError:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            try:
                self.path.rmdir()
                return
            except OSError:  # busy until the last process has exited
                await asyncio.sleep(0.005)
