"""Every event carries every field engine.md §4 lists for its type: on the wire as encoded,
and in the payloads real runs store (defaults and nulls included)."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from smithers.engine import events as ev
from tests.helpers import Harness

RUN = {"type", "runId", "timestampMs"}
NODE = RUN | {"nodeId", "iteration"}
SPEC: dict[str, set[str]] = {
    "RunStarted": RUN,
    "RunStatusChanged": RUN | {"status"},
    "RunFinished": RUN,
    "RunCancelled": RUN,
    "RunFailed": RUN | {"error"},
    "FrameCommitted": RUN | {"frameNo", "xmlHash"},
    "SignalReceived": RUN | {"signalName", "correlationId", "seq"},
    "NodePending": NODE,
    "NodeStarted": NODE | {"attempt"},
    "NodeFinished": NODE | {"attempt"},
    "NodeFailed": NODE | {"attempt", "error"},
    "NodeRetrying": NODE | {"attempt"},
    "NodeCancelled": NODE | {"reason"},  # attempt? : only when the node had an attempt
    "NodeSkipped": NODE,
    "NodeWaitingApproval": NODE,
    "NodeWaitingTimer": NODE | {"firesAtMs"},
    "NodeOutput": NODE | {"attempt", "text", "stream"},
    "ApprovalRequested": NODE,
    "ApprovalGranted": NODE,
    "ApprovalDenied": NODE,
    "TimerCreated": NODE | {"timerId", "firesAtMs", "timerType"},
    "TimerFired": NODE | {"timerId", "firesAtMs", "firedAtMs", "delayMs"},
    "TimerCancelled": NODE | {"timerId", "firesAtMs"},
    "TaskHeartbeat": NODE | {"attempt", "hasData", "dataSizeBytes"},
    # agents-and-tools.md §4
    "TokenUsageReported": NODE
    | {
        "attempt",
        "agent",
        "model",
        "inputTokens",
        "outputTokens",
        "cacheReadTokens",
        "cacheWriteTokens",
        "reasoningTokens",
    },
    "ToolCallStarted": NODE | {"attempt", "callId", "tool", "input"},
    "ToolCallFinished": NODE | {"attempt", "callId", "tool", "status", "durationMs", "outputBytes"},
}
OPTIONAL = {"NodeCancelled": {"attempt"}, "ToolCallFinished": {"error"}}


def _classes() -> dict[str, type[ev.Event]]:
    found = {}
    for name in ev.__all__:
        cls = getattr(ev, name)
        if isinstance(cls, type) and issubclass(cls, ev.Event) and cls.__struct_config__.tag:
            if cls in (ev.Event, ev.NodeEvent):
                continue
            found[name] = cls
    return found


def _smallest(cls: type[ev.Event]) -> ev.Event:
    """An instance with only the required fields given (every default left as it is)."""
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    values = {}
    for field in info.fields:
        if not field.required:
            continue
        kind = field.type
        if isinstance(kind, msgspec.inspect.StrType):
            values[field.name] = "x"
        elif isinstance(kind, msgspec.inspect.IntType):
            values[field.name] = 0
        elif isinstance(kind, msgspec.inspect.BoolType):
            values[field.name] = False
        else:
            values[field.name] = None  # Any, dict, str | None: null is a value and is sent
    return cls(**values)


def test_every_event_type_is_in_the_table() -> None:
    assert set(_classes()) == set(SPEC)


@pytest.mark.parametrize("name", sorted(SPEC))
def test_an_event_encodes_every_field_of_its_type(name: str) -> None:
    encoded = msgspec.json.decode(ev.encode_event(_smallest(_classes()[name])))
    assert set(encoded) == SPEC[name], name
    assert encoded["type"] == name


def test_node_output_says_its_stream_and_a_cancel_its_attempt_when_it_had_one() -> None:
    logged = ev.NodeOutput(
        run_id="r", timestamp_ms=1, node_id="n", iteration=0, attempt=1, text="t"
    )
    assert msgspec.json.decode(ev.encode_event(logged))["stream"] == "stdout"
    base = {"run_id": "r", "timestamp_ms": 1, "node_id": "n", "iteration": 0, "reason": "x"}
    assert "attempt" not in msgspec.json.decode(ev.encode_event(ev.NodeCancelled(**base)))
    with_attempt = ev.NodeCancelled(**base, attempt=2)
    assert msgspec.json.decode(ev.encode_event(with_attempt))["attempt"] == 2


async def test_stored_events_of_real_runs_carry_their_fields(db_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Task, Sequence, Signal, Timer, Parallel

        def talk(t):
            t.log("hello")
            t.heartbeat({"step": 1})
            return 1

        @workflow("fields")
        def build(ctx):
            return Sequence(
                Task("talk", talk),
                Parallel(Signal("go", name="go"), Timer("later", duration="1h")),
            )
        """
    )
    async with Harness(db_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status in ("waiting-event", "waiting-timer")
        await h.scheduler.signal(h.store, run_id, "go", {"n": 1})
        await asyncio.sleep(0.2)
        await h.scheduler.cancel_run(h.store, run_id)
        rows = await h.store.reads.list_events(run_id, -1, 10_000)
    events = [msgspec.json.decode(row.payload_json) for row in rows]  # exactly as stored
    seen = set()
    for event in events:
        keys = set(event)
        expected = SPEC[event["type"]]
        assert expected <= keys <= expected | OPTIONAL.get(event["type"], set()), event
        seen.add(event["type"])
    assert {"NodeOutput", "SignalReceived", "TimerCreated", "TimerCancelled"} <= seen
    output = next(e for e in events if e["type"] == "NodeOutput")
    assert (output["text"], output["stream"]) == ("hello", "stdout")
    received = next(e for e in events if e["type"] == "SignalReceived")
    assert received["correlationId"] is None  # null, and present
