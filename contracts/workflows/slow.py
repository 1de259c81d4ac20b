"""Contract workflow: one task that runs for ``input.seconds`` (default 60) unless cancelled."""

import asyncio

from smithers import Task, workflow


async def sleep(t):
    await asyncio.sleep(float(t.input.get("seconds", 60)))
    return {"slept": True}


@workflow("contract-slow")
def slow(ctx):
    return Task("sleep", sleep)
