"""A run in flight across an upgrade: its agent's turns and tool calls stored in the JSON form
the code before typed turns wrote, the process gone mid-call; this code continues it from
those rows — the completed call not run again, the completed model calls not made again."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import textwrap
import time
from pathlib import Path

import pytest

from smithers.agents.testing import Call, Reply, ScriptedModel
from smithers.engine.ids import new_run_id
from tests.agents.test_durability import WORKFLOW
from tests.engine.test_processes import _worker
from tests.helpers import Harness

FIRST_ARGS = json.dumps({"command": "echo line >> out.txt"})
SECOND_ARGS = json.dumps({"command": "touch waiting; sleep 60"})
USAGE = (
    '{"input_tokens":10,"output_tokens":5,"cache_read_tokens":0,'
    '"cache_write_tokens":0,"reasoning_tokens":0}'
)
# the rows as the code before typed turns wrote them; the tool turn as its first version
# did, without "isError", and with a result that is not this run's (it is what the model
# reads back: the proof that the turn comes from the row)
STORED = [
    (
        "assistant",
        json.dumps(
            {"text": "", "toolCalls": [{"id": "call_1_0", "name": "bash", "arguments": FIRST_ARGS}]}
        ),
        USAGE,
    ),
    (
        "tool",
        json.dumps([{"callId": "call_1_0", "content": '{"exitCode":0,"output":"stored"}'}]),
        None,
    ),
    (
        "assistant",
        json.dumps(
            {
                "text": "Now wait.",
                "toolCalls": [{"id": "call_2_0", "name": "bash", "arguments": SECOND_ARGS}],
            }
        ),
        USAGE,
    ),
]


def _rows(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


async def test_a_run_stored_in_todays_form_continues_from_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "runs.db"
    url = f"sqlite:///{db}"
    (tmp_path / "agent.py").write_text(textwrap.dedent(WORKFLOW))
    script = [
        Call("bash", {"command": "echo line >> out.txt"}),
        Call("bash", {"command": "touch waiting; sleep 60"}, text="Now wait."),
        Reply('{"lines": 1}'),
    ]
    with ScriptedModel(script) as model:
        monkeypatch.setenv("MODEL_URL", model.base_url)
        run_id = new_run_id()
        proc = _worker("start", url, str(tmp_path / "agent.py"), run_id)
        try:
            deadline = time.monotonic() + 30
            sql = "SELECT status FROM _smithers_tool_calls WHERE run_id = ? ORDER BY seq"
            while not (tmp_path / "waiting").exists() or len(_try(db, sql, run_id)) < 2:
                assert time.monotonic() < deadline, "the worker never reached the second call"
                await asyncio.sleep(0.02)
            proc.send_signal(signal.SIGKILL)  # mid-call: the second bash call never ends
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        with sqlite3.connect(db) as conn:
            for turn, (role, content, usage) in enumerate(STORED, 1):
                conn.execute(
                    "UPDATE _smithers_transcripts SET role = ?, content_json = ?, usage_json = ? "
                    "WHERE run_id = ? AND attempt = 1 AND turn = ?",
                    (role, content, usage, run_id, turn),
                )
        assert len(model.requests) == 2
        async with Harness(url) as h:
            outcome = await h.resume(run_id, force=True)  # its owner is dead
            calls = await h.store.reads.list_tool_calls(run_id)
            transcript = await h.store.reads.run_transcript(run_id)
    assert outcome.status == "finished", outcome
    assert (tmp_path / "out.txt").read_text() == "line\n"  # the completed call: not again
    assert len(model.requests) == 3  # the completed model calls: not again
    messages = model.requests[2]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "tool"]
    assert messages[1]["tool_calls"][0]["function"]["arguments"] == FIRST_ARGS
    assert messages[2] == {
        "role": "tool",
        "tool_call_id": "call_1_0",
        "content": '{"exitCode":0,"output":"stored"}',
    }
    assert messages[3]["content"] == "Now wait."
    assert (
        messages[4]["tool_call_id"] == "call_2_0" and "TOOL_INTERRUPTED" in messages[4]["content"]
    )
    assert [(c.attempt, c.call_id, c.status) for c in calls] == [
        (1, "call_1_0", "ok"),
        (1, "call_2_0", "interrupted"),
    ]
    # the new attempt's turns are in the same form
    assert [(t.attempt, t.turn, t.role) for t in transcript][3:] == [
        (2, 1, "tool"),
        (2, 2, "assistant"),
    ]
    (answer,) = json.loads(transcript[3].content_json)
    assert set(answer) == {"callId", "content", "isError"} and answer["isError"] is True
    assert json.loads(transcript[4].content_json) == {"text": '{"lines": 1}', "toolCalls": []}
    assert json.loads(transcript[4].usage_json or "") == json.loads(USAGE)


def _try(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    try:
        return _rows(db, sql, *args)
    except sqlite3.OperationalError:  # not created yet
        return []
