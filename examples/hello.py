"""A first workflow: three steps, one of them waiting for a human.

uv run smithers up examples/hello.py --input '{"name": "Ada"}'
"""

import msgspec

from smithers import Parallel, Sequence, Task, TaskContext, workflow


class Input(msgspec.Struct):
    name: str = "world"


class Greeting(msgspec.Struct):
    text: str


async def greet(t: TaskContext) -> Greeting:
    t.log(f"greeting {t.input.name}")
    return Greeting(text=f"Hello, {t.input.name}!")


def shout(t: TaskContext) -> str:  # sync functions run in a worker thread
    return t.output("greet").text.upper()


@workflow("hello", input=Input)
def hello(ctx):
    return Sequence(
        Task("greet", greet, output=Greeting),
        Parallel(Task("shout", shout), Task("count", lambda t: len(t.output("greet").text))),
    )
