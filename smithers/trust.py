"""The files this process trusts: what it will later run, and the databases it keeps runs in.

A tool call (a model's ``bash`` or ``write``) may change any file of its run's root, and the
server itself reads some of those files again: it imports workflow files and the modules
they import, and it reads and writes its SQLite databases. Whatever a tool could change
there, it could make the server run or believe. So every part that opens such a file says so
here, once, and ``smithers.tools.policy`` turns what is recorded into what one run's tools
may see and change (``../shared/spec/agents-and-tools.md`` §5, protected paths):

- ``protect_database(path)`` — a SQLite database file this process opened (the store does,
  on open); the file and its ``-wal``, ``-shm`` and ``-journal`` are invisible to tools.
- ``protect_code(paths)`` — a workflow file that was loaded, and the files of the modules
  it imported while loading (the loader does); a workflow file a run in an attached
  database may load again (the scheduler does, on attach); read-only to tools, their
  modules' ``__pycache__`` too.

The record only grows during the life of the process, and each change bumps ``version()``
so that a policy built from it can be cached until then.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DATABASE_SIDECARS",
    "Trusted",
    "protect_code",
    "protect_database",
    "trusted",
]

DATABASE_SIDECARS = ("", "-wal", "-shm", "-journal")
"""The suffixes of a SQLite database's own files: the database, its WAL, the WAL's index,
and a rollback journal (which SQLite would play back into the database on its next open)."""


@dataclass(frozen=True, slots=True)
class Trusted:
    """What was recorded, at one version of the record."""

    version: int
    databases: frozenset[str]
    """Real paths of SQLite database files (without sidecar suffixes)."""
    code: frozenset[str]
    """Real paths of workflow files and of the module files they imported."""
    module_files: frozenset[str]
    """Of ``code``, the files imported as modules (whose ``__pycache__`` Python reads)."""


_lock = threading.Lock()
_databases: set[str] = set()
_code: set[str] = set()
_module_files: set[str] = set()
_current = Trusted(0, frozenset(), frozenset(), frozenset())


def _real(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.fspath(path))


def _publish() -> None:
    global _current
    _current = Trusted(
        _current.version + 1,
        frozenset(_databases),
        frozenset(_code),
        frozenset(_module_files),
    )


def protect_database(path: str | os.PathLike[str]) -> None:
    """Record a SQLite database file this process keeps runs in."""
    real = _real(path)
    with _lock:
        if real not in _databases:
            _databases.add(real)
            _publish()


def protect_code(
    workflow: str | os.PathLike[str] | None, modules: Iterable[str | os.PathLike[str]] = ()
) -> None:
    """Record a loaded workflow file and the module files it imported while loading."""
    files = {_real(m) for m in modules}
    paths = files | ({_real(workflow)} if workflow is not None else set())
    with _lock:
        if not (paths <= _code and files <= _module_files):
            _code.update(paths)
            _module_files.update(files)
            _publish()


def trusted() -> Trusted:
    """The record as it is now (an immutable snapshot)."""
    return _current
