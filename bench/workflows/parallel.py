"""A Parallel of no-op tasks (``{"steps": 10000, "cap": 4}``): fan-out cost at scale."""

from smithers import Parallel, Task, workflow


async def noop(t):
    return None


@workflow("bench-parallel")
def parallel(ctx):
    count = int(ctx.input.get("steps", 200))
    cap = ctx.input.get("cap", 4)
    return Parallel(*[Task(f"p{i:05d}", noop) for i in range(count)], max_concurrency=cap)
