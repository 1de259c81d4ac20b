"""What one run's tools may see and change: its root, less what the server trusts.

One ``TrustPolicy`` per root and version of ``smithers.trust``'s record, consumed alike by
the ``bash`` sandbox (``sandbox.bwrap_argv``: binds) and by the file tools (``Root``:
``PATH_PROTECTED``). Inside the root:

- **hidden**: the SQLite databases this process keeps runs in, with their ``-wal``, ``-shm``
  and ``-journal`` — whether they exist yet or not (a journal made by a tool would be played
  back into the database by SQLite's next open);
- **read-only**: every workflow file the process loaded, the module files those imported,
  their ``__pycache__`` folders, and the Python environment the process runs in (its
  prefixes and ``site-packages``, and the folder of the ``smithers`` package itself) even
  where it lies inside the root.

Outside the root there is nothing to protect: the file tools cannot reach it and the
sandbox binds only the root (and, read-only, the system and the Python environment).
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from smithers import trust
from smithers.errors import PathProtected

__all__ = ["TrustPolicy", "policy_for", "python_paths"]


@cache
def python_paths() -> tuple[Path, ...]:
    """The Python installation and environment this process runs in, real paths, outermost
    only (a folder inside another listed one is left out)."""
    import smithers

    found = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()}
    found.add(site.getusersitepackages())
    for name in ("stdlib", "platstdlib", "purelib", "platlib", "scripts"):
        with_path = sysconfig.get_paths().get(name)
        if with_path:
            found.add(with_path)
    found.add(str(Path(smithers.__file__).parent))
    real = sorted({Path(os.path.realpath(p)) for p in found if p and os.path.exists(p)})
    return tuple(p for p in real if not any(q != p and q in p.parents for q in real))


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    """The protected paths inside one root (real, absolute paths)."""

    root: Path
    hidden: frozenset[Path]
    """Files no tool may see (file tools: ``PATH_PROTECTED``; ``bash``: an empty file)."""
    read_only: tuple[Path, ...]
    """Files and folders no tool may change (everything beneath a folder, too)."""

    def protects(self, path: Path) -> bool:
        """Whether ``path`` (real, absolute) may not be changed by a tool."""
        return path in self.hidden or any(_inside(p, path) for p in self.read_only)

    def check_read(self, path: Path, given: str) -> None:
        """``PATH_PROTECTED`` when ``path`` (the real path of what ``given`` opened) is hidden."""
        if path in self.hidden:
            raise PathProtected(f"{given} is protected: no tool may read it")

    def check_write(self, path: Path, given: str) -> None:
        """``PATH_PROTECTED`` when ``path`` (real, absolute) may not be changed by a tool."""
        if self.protects(path):
            raise PathProtected(f"{given} is protected: no tool may change it")

    @property
    def ancestors(self) -> tuple[Path, ...]:
        """Folders strictly between the root and a protected path, outermost first.

        The sandbox mounts each onto itself, which makes it a mount point: a mount point can
        be neither renamed nor removed, so no command can move a protected file's folder
        away and put another file of the same name in its place.
        """
        found: set[Path] = set()
        for path in (*self.hidden, *self.read_only):
            found.update(p for p in path.parents if p != self.root and self.root in p.parents)
        return tuple(sorted(found, key=lambda p: (len(p.parts), str(p))))


def policy_for(root: Path) -> TrustPolicy:
    """The policy of ``root`` (a real path) as of the current record of ``smithers.trust``."""
    return _policy(root, trust.trusted())


@cache
def _cached(root: Path, record: trust.Trusted) -> TrustPolicy:
    hidden = frozenset(
        Path(database + suffix)
        for database in record.databases
        for suffix in trust.DATABASE_SIDECARS
        if _inside(root, Path(database))
    )
    read_only: set[Path] = {Path(p) for p in record.code if _inside(root, Path(p))}
    for module in record.module_files:
        if _inside(root, Path(module)):
            read_only.add(Path(module).parent / "__pycache__")
    read_only.update(p for p in python_paths() if _inside(root, p) or _inside(p, root))
    # nested entries add nothing: a folder's protection covers what is beneath it
    ordered = sorted(read_only)
    kept = tuple(p for p in ordered if not any(q != p and _inside(q, p) for q in read_only))
    return TrustPolicy(root, hidden, kept)


def _policy(root: Path, record: trust.Trusted) -> TrustPolicy:
    # one entry per root and version: an older version's entry is never asked for again
    if _cached.cache_info().currsize > 256:
        _cached.cache_clear()
    return _cached(root, record)
