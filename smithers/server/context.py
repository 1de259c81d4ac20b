"""Everything a server process shares between requests: settings, scheduler, stores."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
from litestar import Request
from sqlalchemy.exc import DBAPIError

from smithers.authoring.loader import LoadedWorkflow, load_workflow, resolve_workflow_path
from smithers.engine.run_options import StartOptions, options_from_config
from smithers.engine.scheduler import RunScheduler
from smithers.errors import DbNotConfigured, RunNotFound, RunToResumeNotFound
from smithers.secrets import redact
from smithers.server.feeds import Feeds
from smithers.server.http.errors import DatabaseUnavailable
from smithers.server.process.settings import ServerSettings
from smithers.store.mirror import Mirror
from smithers.store.rows import RunRow, RunStatusRow
from smithers.store.store import Store
from smithers.store.urls import database_identity, redact_url
from smithers.tools.shell import UNSANDBOXED_WARNING, sandbox_problem

__all__ = [
    "FINAL_KEPT",
    "HOMES_KEPT",
    "OPEN_FAILURES",
    "FinalRuns",
    "Homes",
    "OpenFailures",
    "ServerContext",
    "context_of",
]

log = logging.getLogger(__name__)


HOMES_KEPT = 10_000
"""Run → store entries remembered; older ones are found again through ``locate``."""


FINAL_KEPT = 10_000
"""Final runs whose ``GET /v1/runs/{runId}`` body is kept in memory."""


OPEN_FAILURES = (OSError, sqlite3.Error, DBAPIError, asyncpg.PostgresError, asyncpg.InterfaceError)
"""What opening a database raises when the database, not the code, is at fault: no file can
be made there, a server that does not answer or refuses the login, a database that is not."""

V = TypeVar("V")


class _Bounded(OrderedDict[str, V]):
    """Entries by run id, the oldest set first forgotten beyond ``limit``."""

    def __init__(self, entries: dict[str, V] | None = None, limit: int = HOMES_KEPT) -> None:
        self.limit = limit
        super().__init__(entries or {})

    def __setitem__(self, run_id: str, value: V) -> None:
        super().__setitem__(run_id, value)
        self.move_to_end(run_id)
        while len(self) > self.limit:
            self.popitem(last=False)


class Homes(_Bounded[Store]):
    """Where recently started or touched runs live: a cache, bounded so that a long-running
    server does not keep one entry per run it ever saw (a miss costs ``locate`` a lookup in
    the server database and the stores this process opened, nothing more)."""


class FinalRuns(_Bounded[bytes]):
    """The ``GET /v1/runs/{runId}`` body of runs in a ``FINAL`` status (finished, continued):
    such a run never changes again (it cannot be resumed, and rows are never deleted), so it
    is answered without reading the database or encoding anything."""

    def __init__(self, limit: int = FINAL_KEPT) -> None:
        super().__init__(limit=limit)


class OpenFailures:
    """Databases that could not be opened, logged as one line per distinct error (message, no
    traceback, no password): the first time, then at most once per ``every`` seconds with the
    count of repeats in between, so that a client retrying cannot flood the log."""

    def __init__(self, every: float = 60.0, kept: int = 1000) -> None:
        self.every = every
        self.kept = kept
        self._seen: dict[str, tuple[float, int]] = {}
        """Line → when it was last logged, and how many times it came since."""

    def report(self, line: str) -> None:
        """Log ``line`` unless it was logged less than ``every`` seconds ago."""
        now = time.monotonic()
        logged_at, repeats = self._seen.get(line, (None, 0))
        if logged_at is not None and now - logged_at < self.every:
            self._seen[line] = (logged_at, repeats + 1)
            return
        if len(self._seen) >= self.kept:
            self._seen.clear()
        self._seen[line] = (now, 0)
        log.error("%s%s", line, f" ({repeats} more since last logged)" if repeats else "")


def open_failure_reason(exc: BaseException) -> str:
    """What went wrong, as one line without the secrets the process knows (the driver's own
    message when SQLAlchemy wraps it)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return redact(" ".join(str(cause).split()) or type(cause).__name__)


@dataclass
class ServerContext:
    """The server's scheduler, its database (if any), and where each run lives."""

    settings: ServerSettings
    scheduler: RunScheduler
    server_store: Store | None = None
    mirror: Mirror | None = None
    homes: Homes = field(default_factory=Homes)
    """Run id → the store that owns it, for the runs this process started or touched last."""
    final_runs: FinalRuns = field(default_factory=FinalRuns)
    missing_run: type[RunNotFound] = RunNotFound
    """What an unknown run raises on per-run routes (serve mode: ``ServedRunNotFound``)."""
    feeds: Feeds = field(init=False)
    """One database poller per streamed run that another process executes."""
    stopping: bool = False
    """The process was told to stop: event streams end (clients reconnect elsewhere)."""
    open_failures: OpenFailures = field(default_factory=OpenFailures)

    def __post_init__(self) -> None:
        self.feeds = Feeds(self.scheduler, self.settings.sse_poll_interval)

    @classmethod
    def create(cls, settings: ServerSettings) -> ServerContext:
        """A context (nothing opened yet)."""
        scheduler = RunScheduler(
            auto_wake=True,
            stale_after_ms=settings.stale_after_ms,
            recovery_interval=settings.recovery_interval,
            sandbox=settings.sandbox,
        )
        return cls(settings, scheduler)

    async def startup(self) -> None:
        """Open the server database and start the scheduler (and mirroring)."""
        if self.settings.db is not None:
            self.server_store = await self.scheduler.attach(Store.open(self.settings.db))
            self.mirror = Mirror(self.server_store)
            await self.mirror.start()
        self.scheduler.add_launch_listener(self._on_launch)
        self.scheduler.add_exit_listener(self._on_exit)
        await self.scheduler.start()
        if self.settings.sandbox == "none":
            log.warning(UNSANDBOXED_WARNING)
            return
        problem = await asyncio.to_thread(sandbox_problem)
        if problem is not None:
            log.warning(
                "the bash tool's sandbox cannot be created here (%s): bash tool calls fail "
                "with SANDBOX_UNAVAILABLE",
                problem,
            )

    def begin_stopping(self) -> None:
        """End every event stream now, so that a graceful stop does not wait on them."""
        self.stopping = True
        self.scheduler.hub.notify_all()

    async def shutdown(self) -> None:
        """Interrupt running runs, flush mirrors, close databases."""
        await self.scheduler.close()
        if self.mirror is not None:
            await self.mirror.close()
        for store in self.scheduler.stores:
            await store.close()

    def _on_launch(self, store: Store, run_id: str) -> None:
        self.homes[run_id] = store
        if self.mirror is not None:
            self.mirror.track(store, run_id)

    def _on_exit(self, store: Store, run_id: str) -> None:
        if self.mirror is not None and self.mirror.is_tracked(run_id):
            self.scheduler.spawn(self.mirror.flush(run_id, keep=False))

    def require_db(self) -> Store:
        """The server database, or ``DB_NOT_CONFIGURED``."""
        if self.server_store is None:
            raise DbNotConfigured()
        return self.server_store

    def options(self, max_concurrency: int | None, store: Store) -> StartOptions:
        """Run options for a run started or resumed through this server."""
        mirrored = self.server_store is not None and store.identity != self.server_store.identity
        return StartOptions(
            max_concurrency=max_concurrency,
            root_dir=self.settings.root_dir,
            allow_network=self.settings.allow_network,
            db_url=store.identity if mirrored else None,
        )

    async def load(self, given: str) -> LoadedWorkflow:
        """Resolve a workflow path (confined to the root) and load it fresh."""
        path = resolve_workflow_path(given, self.settings.root_dir)
        return await asyncio.to_thread(load_workflow, path)

    async def store_for(self, loaded: LoadedWorkflow) -> Store:
        """Where runs of this workflow live: its own database, the server's, or beside it."""
        url = loaded.pinned_db
        if url is None:
            if self.server_store is not None:
                return self.server_store
            url = str(loaded.path.parent / "smithers.db")
        if self.server_store is not None and database_identity(url) == self.server_store.identity:
            return self.server_store
        return await self._opened(url, self.scheduler.open_store(url))

    async def _opened(self, url: str, opening: Awaitable[Store]) -> Store:
        """The store ``opening`` gives; ``DatabaseUnavailable`` (logged once, as one line) when
        the database behind ``url`` cannot be opened."""
        try:
            return await opening
        except OPEN_FAILURES as exc:
            reason = open_failure_reason(exc)
            self.open_failures.report(f"cannot open the database {redact_url(url)}: {reason}")
            raise DatabaseUnavailable(f"the database cannot be opened: {reason}") from None

    async def locate(
        self, run_id: str, *, resuming: bool = False, writing: bool = False
    ) -> tuple[Store, RunRow]:
        """The store that owns a run and its row; ``RunNotFound`` when no database has it
        (``RunToResumeNotFound`` when ``resuming``).

        A mirror copy's own database, when not open yet, is opened with the password its
        workflow file pins only to write (``writing`` or ``resuming``): no read imports a
        workflow file, so a read opens the stored URL (the environment supplies a password)."""
        home = self.homes.get(run_id)
        if home is not None:
            row = await home.reads.get_run(run_id)
            if row is not None:
                return home, row
        if self.server_store is not None:
            row = await self.server_store.reads.get_run(run_id)
            if row is not None:
                owning = options_from_config(row.config_json).db_url
                if owning is None or database_identity(owning) == self.server_store.identity:
                    return self.server_store, row
                pinning = row.workflow_path if writing or resuming else None
                opening = self.scheduler.open_owning(owning, pinning)
                store = await self._opened(owning, opening)
                own_row = await store.reads.get_run(run_id)
                if own_row is not None:
                    self.homes[run_id] = store
                    return store, own_row
                return self.server_store, row
        for store in self.scheduler.stores:
            row = await store.reads.get_run(run_id)
            if row is not None:
                self.homes[run_id] = store
                return store, row
        if resuming:
            raise RunToResumeNotFound(run_id)
        raise self.missing_run(run_id)

    async def run_with_summary(self, run_id: str) -> tuple[RunStatusRow, dict[str, int]]:
        """The run's status and node state counts; one read when the expected database has it."""
        store = self.homes.get(run_id) or self.server_store
        if store is not None:
            found = await store.reads.run_with_summary(run_id)
            if found is not None and not self.mirrored_elsewhere(store, found[0]):
                return found
        store, row = await self.locate(run_id)
        return RunStatusRow.of(row), await store.reads.node_summary(run_id)

    def mirrored_elsewhere(self, store: Store, row: RunRow | RunStatusRow) -> bool:
        """Whether ``row`` is a mirror copy whose run lives in another database."""
        owning = options_from_config(row.config_json).db_url
        return owning is not None and database_identity(owning) != store.identity

    async def touched(self, store: Store, run_id: str) -> None:
        """After a decision, signal or cancel: refresh the mirror copy at once."""
        self.homes[run_id] = store
        if self.mirror is not None and store is not self.server_store:
            self.mirror.track(store, run_id)
            await self.mirror.flush(run_id, keep=run_id in self.scheduler.active)


def context_of(request: Request[Any, Any, Any]) -> ServerContext:
    """The server context of the app serving ``request``."""
    context: ServerContext = request.app.state["smithers"]  # item, not attribute: ~1 us less
    return context
