"""A separate process for crash and race tests: ``python -m tests.engine.worker <cmd> ...``.

``start DB WORKFLOW RUN_ID``: start the run and execute it until it ends.
``claim DB RUN_ID AT``: at wall-clock time AT, try to resume the run; print "won" or "lost",
then (when won) execute it until it ends.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from smithers.authoring.loader import load_workflow
from smithers.engine.scheduler import RunScheduler
from smithers.errors import RunInProgress
from smithers.store.store import Store


async def start(db: str, workflow: str, run_id: str) -> None:
    store = Store.open(db)
    scheduler = RunScheduler()
    await scheduler.attach(store)
    await scheduler.start()
    waiter = asyncio.create_task(scheduler.wait(run_id))
    await asyncio.sleep(0)
    await scheduler.start_run(store, load_workflow(Path(workflow)), run_id=run_id)
    print("started", flush=True)
    outcome = await waiter
    print(outcome.status, flush=True)
    await scheduler.close()
    await store.close()


async def claim(db: str, run_id: str, at: float) -> None:
    store = Store.open(db)
    scheduler = RunScheduler()
    await scheduler.attach(store)
    await scheduler.start()
    await asyncio.sleep(max(0.0, at - time.time()))
    waiter = asyncio.create_task(scheduler.wait(run_id))
    try:
        await scheduler.resume_run(store, run_id)
    except RunInProgress:
        print("lost", flush=True)
        waiter.cancel()
    else:
        print("won", flush=True)
        print((await waiter).status, flush=True)
    await scheduler.close()
    await store.close()


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "start":
        asyncio.run(start(*args))
    elif command == "claim":
        asyncio.run(claim(args[0], args[1], float(args[2])))
    else:
        raise SystemExit(f"unknown command {command}")
