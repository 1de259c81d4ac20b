"""A gate task, then ticks that each sleep a little: a steady stream of events for SSE."""

import asyncio

from smithers import Sequence, Task, workflow


async def gate(t):
    await asyncio.sleep(float(t.input.get("gate", 1.0)))


async def tick(t):
    await asyncio.sleep(float(t.input.get("interval", 0.05)))


@workflow("bench-ticker")
def ticker(ctx):
    ticks = [Task(f"tick{i:03d}", tick) for i in range(int(ctx.input.get("ticks", 40)))]
    return Sequence(Task("gate", gate), *ticks)
