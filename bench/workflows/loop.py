"""A Loop of one no-op task per iteration (``{"steps": 1000}``): iteration cost at scale."""

from smithers import Loop, Task, workflow


async def noop(t):
    return None


@workflow("bench-loop")
def loop(ctx):
    count = int(ctx.input.get("steps", 200))
    return Loop("l", Task("step", noop), until=False, max_iterations=count)
