"""Load a workflow ``.py`` by path, fresh for each start: the bytes read are the bytes run.

The module name derives from a hash of the path and the content, so an edited file becomes a
new module (hot reload) while an unchanged one is reused. Nothing is written next to the file:
the source is compiled in memory, so no bytecode cache or shadow copy appears.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import msgspec

from smithers import tracing, trust
from smithers.authoring.workflow import Workflow
from smithers.errors import InvalidRequest, WorkflowLoadError, WorkflowPathOutsideRoot

__all__ = ["LoadedWorkflow", "load_workflow", "resolve_workflow_path"]

_CACHE_SIZE = 128


@dataclass(frozen=True, slots=True)
class LoadedWorkflow:
    """A workflow module as loaded from one exact version of its file."""

    workflow: Workflow
    path: Path
    hash: str
    module: ModuleType
    struct_types: tuple[type[msgspec.Struct], ...]

    @property
    def pinned_db(self) -> str | None:
        """The workflow's own database (``db=``), a relative path taken from its file's folder."""
        pinned = self.workflow.db
        if pinned is None or "://" in pinned:
            return pinned
        return str((self.path.parent / pinned).resolve())


_cache: OrderedDict[str, LoadedWorkflow] = OrderedDict()
_lock = threading.Lock()


def resolve_workflow_path(given: str, root: Path | None, *, base: Path | None = None) -> Path:
    """The absolute path of a workflow file, confined to ``root`` (symlinks included).

    Every failure names the path as given, never the absolute path it resolves to.
    """
    if "\0" in given:  # the OS cannot name such a file; os functions raise ValueError
        raise InvalidRequest("workflowPath must not contain a NUL character")
    start = root if root is not None else (base or Path.cwd())
    candidate = Path(os.path.normpath(start / given))
    try:
        if root is not None:
            real_root = Path(os.path.realpath(root))
            real = Path(os.path.realpath(candidate))
            if not (candidate.is_relative_to(root) and real.is_relative_to(real_root)):
                raise WorkflowPathOutsideRoot()
        # the path as given, not normalized: "x.py/" names a directory, which x.py is not
        found = candidate.is_file() and os.path.isfile(os.path.join(start, given))
    except OSError:  # e.g. a name longer than the file system allows: no such file
        found = False
    if not found:
        raise InvalidRequest(f"workflow file not found: {given}")
    return candidate


def load_workflow(path: Path) -> LoadedWorkflow:
    """Import the workflow file at ``path`` (absolute) and find its ``Workflow``."""
    with tracing.workflow_span(str(path)) as span:
        loaded, cached = _load(path)
        span.set_attribute(tracing.WORKFLOW_HASH, loaded.hash)
        span.set_attribute(tracing.WORKFLOW_CACHED, cached)
        return loaded


def _load(path: Path) -> tuple[LoadedWorkflow, bool]:
    """The workflow at ``path`` and whether it came from the cache."""
    try:
        source = path.read_bytes()
    except OSError as exc:
        # strerror, not str(exc): that would show the absolute path on the server
        raise WorkflowLoadError(f"{type(exc).__name__}: {exc.strerror}") from exc
    content_hash = hashlib.sha256(source).hexdigest()
    key = hashlib.sha256(str(path).encode() + b"\0" + source).hexdigest()[:24]
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached, True
        loaded = _execute(path, source, content_hash, f"smithers_workflow_{key}")
        _cache[key] = loaded
        while len(_cache) > _CACHE_SIZE:
            _, evicted = _cache.popitem(last=False)
            sys.modules.pop(evicted.module.__name__, None)
        return loaded, False


def _execute(path: Path, source: bytes, content_hash: str, module_name: str) -> LoadedWorkflow:
    module = ModuleType(module_name)
    module.__file__ = str(path)
    before = set(sys.modules)
    sys.modules[module_name] = module
    try:
        code = compile(source, str(path), "exec", dont_inherit=True)
        exec(code, module.__dict__)
        found = _find_workflow(module)
    except WorkflowLoadError:
        sys.modules.pop(module_name, None)
        raise
    except (Exception, SystemExit) as exc:
        sys.modules.pop(module_name, None)
        raise WorkflowLoadError(f"{type(exc).__name__}: {exc}") from exc
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    finally:
        # what the server will run again: no tool may change it (smithers.trust)
        trust.protect_code(path, _files_of(set(sys.modules) - before - {module_name}))
    structs = tuple(
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, msgspec.Struct)
        and value.__module__ == module_name
    )
    return LoadedWorkflow(found, path, content_hash, module, structs)


def _files_of(names: set[str]) -> list[str]:
    """The source files of the modules named (those that have one)."""
    files = []
    for name in names:
        file = getattr(sys.modules.get(name), "__file__", None)
        if isinstance(file, str):
            files.append(file)
    return files


def _find_workflow(module: ModuleType) -> Workflow:
    found = {name: v for name, v in vars(module).items() if isinstance(v, Workflow)}
    unique = {id(v): v for v in found.values()}
    if len(unique) == 1:
        return next(iter(unique.values()))
    if not unique:
        raise WorkflowLoadError("the module defines no smithers.Workflow (use @workflow(...))")
    if "workflow" in found:
        return found["workflow"]
    names = ", ".join(sorted(found))
    raise WorkflowLoadError(
        f"the module defines several workflows ({names}); bind the one to run to the name "
        "'workflow'"
    )
