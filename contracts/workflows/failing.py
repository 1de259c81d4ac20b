"""Contract workflow: its only task raises, so the run fails."""

from smithers import Task, workflow


def explode():
    raise RuntimeError("contract failure")


@workflow("contract-failing")
def failing(ctx):
    return Task("explode", explode)
