"""``smithers up`` and ``smithers resume``: run a workflow in the foreground until it stops."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from smithers.authoring.loader import LoadedWorkflow, load_workflow
from smithers.cli.common import CliError, default_db, parse_json_object
from smithers.cli.foreground import run_in_foreground
from smithers.cli.queries import open_existing_store, run_not_found
from smithers.cli.serving import serve_config
from smithers.engine.ids import RUN_ID_PATTERN, new_run_id
from smithers.engine.scheduler import RunScheduler, StartOptions
from smithers.errors import WorkflowLoadError
from smithers.store.store import Store
from smithers.tracing import setup as tracing_setup

__all__ = ["load", "resolve_db", "run_resume", "run_up"]


def load(path_text: str) -> LoadedWorkflow:
    """Load the workflow file named on the command line (a ``CliError`` when it cannot be)."""
    path = Path(path_text)
    if not path.is_file():
        raise CliError(f"workflow file not found: {path_text}")
    try:
        return load_workflow(path.resolve())
    except WorkflowLoadError as exc:
        raise CliError(f"cannot load {path_text}: {exc.message}") from exc


def resolve_db(loaded: LoadedWorkflow, explicit: str | None) -> str:
    """The workflow's own database if it pins one (relative to its file), else the CLI's."""
    return loaded.pinned_db or default_db(explicit)


@contextlib.contextmanager
def traced() -> Iterator[None]:
    """Tracing as the environment asks (``OTEL_*``), spans exported before the command ends."""
    try:
        tracing_setup.configure_from_env()
    except tracing_setup.TracingUnavailable as exc:
        raise CliError(str(exc)) from None
    try:
        yield
    finally:
        tracing_setup.shutdown()


def _absolute(path: str) -> Path:
    return Path(os.path.abspath(path))


async def run_up(args: argparse.Namespace) -> int:
    """Run (or with ``--resume`` continue) a workflow in the foreground; returns the exit code."""
    with traced():
        return await _up(args)


async def _up(args: argparse.Namespace) -> int:
    loaded = load(args.workflow)
    raw_input = parse_json_object(args.input, "--input") if args.input else {}
    if args.run_id is not None and not RUN_ID_PATTERN.fullmatch(args.run_id):
        raise CliError(
            f"--run-id {args.run_id!r} is not a valid run id: use letters, digits and . _ : - "
            "(at most 256, starting with a letter or digit)"
        )
    if args.resume and args.run_id is None:
        raise CliError("--resume needs --run-id: say which run to continue")
    root = _absolute(args.root) if args.root else None
    options = StartOptions(args.max_concurrency, root, bool(args.allow_network))
    store = Store.open(resolve_db(loaded, args.db))
    run_id = args.run_id or new_run_id()

    async def begin(scheduler: RunScheduler) -> object:
        if args.resume:
            return await scheduler.resume_run(
                store, run_id, loaded, options=options, force=bool(args.force)
            )
        return await scheduler.start_run(
            store, loaded, input=raw_input, run_id=run_id, options=options
        )

    return await run_in_foreground(
        store,
        run_id,
        begin,
        resuming=bool(args.resume),
        as_json=bool(args.json),
        serve=serve_config(args),
        sandbox=args.sandbox,
    )


async def run_resume(args: argparse.Namespace) -> int:
    """Continue a stored run in the foreground, like ``up --resume``; returns the exit code."""
    with traced():
        return await _resume(args)


async def _resume(args: argparse.Namespace) -> int:
    loaded = load(args.workflow) if args.workflow else None
    explicit = args.db
    if explicit is None and loaded is not None and loaded.workflow.db is not None:
        explicit = resolve_db(loaded, None)
    async with open_existing_store(explicit) as probe:
        row = await probe.reads.get_run(args.run_id)
        url = probe.url
    if row is None:
        raise run_not_found(args.run_id, url)
    options = StartOptions(max_concurrency=args.max_concurrency)
    store = Store.open(url)

    async def begin(scheduler: RunScheduler) -> object:
        return await scheduler.resume_run(
            store, args.run_id, loaded, options=options, force=bool(args.force)
        )

    return await run_in_foreground(
        store, args.run_id, begin, resuming=True, as_json=bool(args.json), sandbox=args.sandbox
    )
