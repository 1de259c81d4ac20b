"""Nodes and the decorator validate on construction."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from smithers import Approval, Branch, Loop, Parallel, Sequence, Signal, Task, Timer, workflow
from smithers.agents import OpenAIAgent


def noop() -> None:
    return None


def test_task_normalises_durations_and_flags() -> None:
    t = Task("a", noop, backoff=timedelta(seconds=2), timeout="1500ms", depends_on="b")
    assert (t.backoff, t.timeout, t.depends_on) == (2.0, 1.5, ("b",))
    assert Task("a", value=None).value is None  # None is a real value
    assert t.retry_delay(1) == 2.0 and t.retry_delay(3) == 8.0 and t.retry_delay(20) == 300.0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Task("", noop), "non-empty"),
        (lambda: Task("a"), "exactly one of fn, value or agent"),
        (lambda: Task("a", noop, value=1), "exactly one of fn, value or agent"),
        (lambda: Task("a", noop, agent=object()), "exactly one of fn, value or agent"),
        (lambda: Task("a", agent=object(), prompt="p"), "must be an agent"),
        (lambda: Task("a", agent=[], prompt="p"), "must not be empty"),
        (lambda: Task("a", agent=OpenAIAgent(model="m")), "needs a prompt"),
        (lambda: Task("a", agent=OpenAIAgent(model="m"), prompt=" "), "needs a prompt"),
        (lambda: Task("a", noop, prompt="p"), "prompt is for agent tasks"),
        (lambda: Task("a", 42), "callable"),  # type: ignore[arg-type]
        (lambda: Task("a", noop, retries=-1), "retries"),
        (lambda: Task("a", noop, timeout="soon"), "not a duration"),
        (lambda: Task("a", noop, timeout=0), "positive"),
        (lambda: Task("a", noop, output=dict), "msgspec.Struct"),  # type: ignore[arg-type]
        (lambda: Task("a::b", noop), "::"),
        (lambda: Sequence(Task("a", noop), 3), "must be nodes"),  # type: ignore[arg-type]
        (lambda: Parallel(max_concurrency=0), "positive"),
        (lambda: Loop("l", Task("a", noop), until=False, max_iterations=0), "at least 1"),
        (lambda: Approval("a", on_deny="maybe"), "on_deny"),  # type: ignore[arg-type]
        (lambda: Signal("s", on_timeout="retry"), "on_timeout"),  # type: ignore[arg-type]
        (lambda: Timer("t"), "exactly one"),
        (lambda: Timer("t", until="tomorrow"), "ISO 8601"),
        (lambda: Branch(True, 5), "nodes"),  # type: ignore[arg-type]
    ],
)
def test_invalid_nodes_are_rejected(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises((ValueError, TypeError)) as err:
        make()
    assert message in str(err.value)


def test_nodes_are_immutable() -> None:
    with pytest.raises(AttributeError):
        Task("a", noop).id = "b"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Sequence().children = ()  # type: ignore[misc]


def test_children_flatten_and_drop_none() -> None:
    seq = Sequence(Task("a", noop), None, False, [Task("b", noop), (Task("c", noop),)])
    assert [c.id for c in seq.children] == ["a", "b", "c"]  # type: ignore[attr-defined]


def test_workflow_decorator_validates_at_decoration() -> None:
    class In(msgspec.Struct):
        x: int

    wf = workflow("ok", input=In, max_concurrency=2)(lambda ctx: Task("a", noop))
    assert (wf.name, wf.max_concurrency) == ("ok", 2)
    assert wf.convert_input({"x": 1}) == In(x=1)
    with pytest.raises(TypeError, match="needs a name"):
        workflow(lambda ctx: None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        workflow("")
    with pytest.raises(ValueError):
        workflow("x", max_concurrency=0)
    with pytest.raises(TypeError):
        workflow("x", input=dict)  # type: ignore[arg-type]
