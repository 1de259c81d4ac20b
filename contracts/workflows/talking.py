"""Contract workflow: one task that logs a line (a ``NodeOutput`` event), then finishes."""

from smithers import Task, workflow


def speak(t):
    t.log("hello from the task")
    return {"spoke": True}


@workflow("contract-talking")
def talking(ctx):
    return Task("speak", speak)
