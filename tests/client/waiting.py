"""Polling a run's status through the client, within a deadline."""

from __future__ import annotations

import asyncio
import time

from smithers.client import AsyncClient, Client, Run

DEADLINE = 20.0


def wait_for(client: Client, run_id: str, *statuses: str) -> Run:
    """The run once its status is one of ``statuses``."""
    give_up = time.monotonic() + DEADLINE
    while (run := client.get_run(run_id)).status not in statuses:
        assert time.monotonic() < give_up, f"{run_id} stayed {run.status}"
        time.sleep(0.05)
    return run


async def await_status(client: AsyncClient, run_id: str, *statuses: str) -> Run:
    """The run once its status is one of ``statuses`` (async)."""
    give_up = time.monotonic() + DEADLINE
    while (run := await client.get_run(run_id)).status not in statuses:
        assert time.monotonic() < give_up, f"{run_id} stayed {run.status}"
        await asyncio.sleep(0.05)
    return run
