"""Run one attempt of a task's function and turn its result into a storable output."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass
from typing import Any

import msgspec

from smithers.authoring.context import TaskContext
from smithers.authoring.durations import seconds
from smithers.authoring.nodes import UNSET, Task, takes_argument
from smithers.errors import InvalidOutput, SmithersError, TaskTimeout
from smithers.secrets import redact
from smithers.store.outputs import OutputTable, encode_untyped, output_table_for

__all__ = ["Output", "call_task", "error_json", "validate_output"]


@dataclass(slots=True)
class Output:
    """A validated output: its value as readers see it, and where it is stored."""

    value: Any
    table: OutputTable | None
    untyped_json: str | None = None


def validate_output(result: Any, output_type: type[msgspec.Struct] | None) -> Output:
    """Check ``result`` against ``output_type`` (or JSON-encodability when untyped)."""
    if output_type is None and isinstance(result, msgspec.Struct):
        output_type = type(result)
    if output_type is not None:
        try:
            value = msgspec.convert(result, output_type, from_attributes=True)
        except msgspec.ValidationError as exc:
            raise InvalidOutput(f"output does not match {output_type.__name__}: {exc}") from exc
        return Output(value, output_table_for(output_type))
    text = encode_untyped(result)
    return Output(msgspec.json.decode(text), None, text)


async def call_task(task: Task, ctx: TaskContext) -> Any:
    """Call the task's function (sync ones in a worker thread), honouring its timeout."""
    if task.fn is None and task.agent is None:
        return None if task.value is UNSET else task.value
    timeout = seconds(task.timeout)
    if timeout is None:
        return await _invoke(task, ctx)
    try:
        async with asyncio.timeout(timeout):
            return await _invoke(task, ctx)
    except TimeoutError as exc:
        ctx.cancelled.set()
        raise TaskTimeout(f"task {task.id!r} exceeded its timeout of {timeout:g}s") from exc


async def _invoke(task: Task, ctx: TaskContext) -> Any:
    if task.agent is not None:
        prompt = task.prompt
        if not isinstance(prompt, str):  # a Prompt file, beside the workflow
            prompt = await asyncio.to_thread(prompt.render, ctx.workflow_dir)
        return await task.agent_for(ctx.attempt).run(ctx, prompt, task.output)
    fn = task.fn
    assert fn is not None
    args = (ctx,) if takes_argument(fn) else ()
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    # A sync function runs in a thread; if it times out or is cancelled the thread cannot be
    # stopped, so it is told through ctx.cancelled and its result is ignored.
    future = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        result = await asyncio.shield(future)
    except asyncio.CancelledError:
        ctx.cancelled.set()
        raise
    if inspect.isawaitable(result):
        result = await result
    return result


def error_json(exc: BaseException) -> dict[str, Any]:
    """``{name, message, code?}`` of an exception, as events and rows store it (without the
    secrets the process knows)."""
    if isinstance(exc, SmithersError):
        return exc.to_json()
    message = str(exc) or type(exc).__name__
    return {"name": type(exc).__name__, "message": redact(message)}
