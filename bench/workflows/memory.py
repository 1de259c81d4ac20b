"""A long run that samples its own process's RSS (``{"steps": 100000, "shape": "loop"}``).

Every 10,000th step records (step, RSS bytes) in ``SAMPLES``: a Loop of one no-op task per
iteration, or (``"shape": "sequence"``) a Sequence of no-op tasks.
"""

import os

from smithers import Loop, Sequence, Task, workflow

SAMPLES: list[tuple[int, int]] = []
EVERY = 10_000


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def loop_step(t):
    if t.iteration % EVERY == 0:
        SAMPLES.append((t.iteration, _rss()))


async def sequence_step(t):
    index = int(t.node_id[1:])
    if index % EVERY == 0:
        SAMPLES.append((index, _rss()))


@workflow("bench-memory")
def memory(ctx):
    count = int(ctx.input.get("steps", 1000))
    if ctx.input.get("shape") == "sequence":
        return Sequence(*[Task(f"s{i}", sequence_step) for i in range(count)])
    return Loop("l", Task("step", loop_step), until=False, max_iterations=count)
