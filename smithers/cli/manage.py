"""``smithers approve|deny``, ``signal`` and ``cancel``: act on a stored run from any process."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from smithers.cli.common import EXIT_OK, CliError, emit_result, parse_json_value
from smithers.cli.queries import open_existing_store, require_run
from smithers.engine.scheduler import RunScheduler
from smithers.errors import ApprovalNotPending, RunNotActive
from smithers.statuses import TERMINAL, ApprovalStatus, RunStatus
from smithers.store.rows import ApprovalRow
from smithers.store.store import Store

__all__ = ["pick_approval", "run_cancel", "run_decision", "run_signal"]

CANCEL_WAIT_S = 5.0
"""How long ``cancel`` waits for the owning process to finish cancelling an active run."""


def _flags(row: ApprovalRow) -> str:
    return f"--node {row.node_id}" + (f" --iteration {row.iteration}" if row.iteration else "")


def pick_approval(
    run_id: str, verb: str, pending: list[ApprovalRow], node: str | None, iteration: int | None
) -> tuple[str, int]:
    """The (node, iteration) to decide: the one named, or the only one pending."""
    if node is not None:
        if iteration is None:
            of_node = [a for a in pending if a.node_id == node]
            iteration = of_node[0].iteration if len(of_node) == 1 else 0
        return node, iteration
    if not pending:
        raise CliError(
            f"NO_PENDING_APPROVALS: run {run_id} has no approval waiting: "
            f"see what it is doing with `smithers inspect {run_id}`"
        )
    if len(pending) > 1:
        choices = "\n".join(f"  smithers {verb} {run_id} {_flags(a)}" for a in pending)
        raise CliError(
            f"AMBIGUOUS_APPROVAL: run {run_id} waits for {len(pending)} approvals; "
            f"name one with --node:\n{choices}"
        )
    return pending[0].node_id, pending[0].iteration


async def _pending(store: Store, run_id: str) -> list[ApprovalRow]:
    return [
        a for a in await store.reads.list_approvals(run_id) if a.status == ApprovalStatus.REQUESTED
    ]


async def _wake_hint(store: Store, run_id: str) -> None:
    row = await store.reads.get_run(run_id)
    if row is not None and row.status == RunStatus.RUNNING and row.runtime_owner_id is None:
        sys.stderr.write(
            f"Run {run_id} is ready to continue: run `smithers resume {run_id}` "
            "(a running server continues it by itself)\n"
        )


async def run_decision(args: argparse.Namespace) -> int:
    """Approve or deny a node waiting for approval."""
    approved = args.command == "approve"
    async with open_existing_store(args.db) as store:
        await require_run(store, args.run_id)
        pending = await _pending(store, args.run_id)
        node, iteration = pick_approval(
            args.run_id, args.command, pending, args.node, args.iteration
        )
        scheduler = RunScheduler()
        try:
            status = await scheduler.decide(
                store,
                args.run_id,
                node,
                iteration,
                approved=approved,
                note=args.note,
                decided_by=args.by,
            )
        except ApprovalNotPending as exc:
            waiting = ", ".join(f"{a.node_id} (iteration {a.iteration})" for a in pending)
            raise CliError(
                f"APPROVAL_NOT_PENDING: {exc.message}; "
                + (f"waiting now: {waiting}" if waiting else "no approval is waiting now")
            ) from None
        finally:
            await scheduler.close()
        still = await _pending(store, args.run_id)
        if still:
            sys.stderr.write(
                f"Run {args.run_id} still waits for approval of "
                f"{', '.join(repr(a.node_id) for a in still)}: run "
                f"`smithers approve {args.run_id} {_flags(still[0])}` (or deny)\n"
            )
        else:
            await _wake_hint(store, args.run_id)
    result = {"runId": args.run_id, "nodeId": node, "iteration": iteration, "status": status}
    emit_result(result, as_json=args.json)
    return EXIT_OK


async def run_signal(args: argparse.Namespace) -> int:
    """Send a signal (name and JSON data) to a run."""
    data = parse_json_value(args.data, "--data") if args.data is not None else {}
    name = args.name.strip()
    if not name:
        raise CliError("the signal name must not be empty")
    async with open_existing_store(args.db) as store:
        await require_run(store, args.run_id)
        scheduler = RunScheduler()
        try:
            receipt = await scheduler.signal(
                store,
                args.run_id,
                name,
                data,
                correlation_id=args.correlation,
                received_by=args.by,
            )
        finally:
            await scheduler.close()
        if receipt.delivered:
            await _wake_hint(store, args.run_id)
        else:
            sys.stderr.write(
                f"No node of run {args.run_id} waits for signal {name!r} now; it is stored, "
                "but a node only takes signals sent after it starts waiting\n"
            )
    result = {
        "delivered": receipt.delivered,
        "runId": receipt.run_id,
        "seq": receipt.seq,
        "signalName": receipt.signal_name,
        "correlationId": receipt.correlation_id,
        "receivedAtMs": receipt.received_at_ms,
    }
    emit_result(result, as_json=args.json)
    return EXIT_OK


async def _settle(store: Store, run_id: str) -> str:
    """The run's status once its owner has finished cancelling it (or after a few seconds)."""
    deadline = time.monotonic() + CANCEL_WAIT_S
    while True:
        row = await require_run(store, run_id)
        if row.status in TERMINAL or time.monotonic() >= deadline:
            return row.status
        await asyncio.sleep(0.05)


async def run_cancel(args: argparse.Namespace) -> int:
    """Cancel a run: at once when no process runs it, through its owner otherwise."""
    async with open_existing_store(args.db) as store:
        row = await require_run(store, args.run_id)
        not_active = CliError(
            f"RUN_NOT_ACTIVE: run {args.run_id} is already {row.status}; nothing to cancel"
        )
        if row.status in TERMINAL:
            raise not_active
        scheduler = RunScheduler()
        try:
            await scheduler.cancel_run(store, args.run_id)
        except RunNotActive:
            raise not_active from None
        finally:
            await scheduler.close()
        status = await _settle(store, args.run_id)
    if status in TERMINAL and status != RunStatus.CANCELLED:
        sys.stderr.write(f"Run {args.run_id} ended {status} before the cancel took effect\n")
    elif status != RunStatus.CANCELLED:
        sys.stderr.write(
            f"Cancel of run {args.run_id} requested; its process has not finished it yet "
            f"(status {status}): check with `smithers inspect {args.run_id}`\n"
        )
    emit_result({"runId": args.run_id, "status": status}, as_json=args.json)
    return EXIT_OK
