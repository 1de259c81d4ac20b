"""A final run's status and node counts are answered from memory; other runs are read again."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from smithers.server.app import create_app
from smithers.server.context import FinalRuns
from smithers.server.process.settings import ServerSettings

FLOW = """
from smithers import workflow, Task, Sequence, Approval
@workflow("gated")
def build(ctx):
    return Sequence(Task("a", value=1), Approval("gate"), Task("b", value=2))
"""


async def test_a_final_run_is_read_once_a_waiting_one_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gated.py").write_text(textwrap.dedent(FLOW))
    app = create_app(ServerSettings(db=str(tmp_path / "server.db"), root_dir=tmp_path))
    async with AsyncTestClient(app) as client:
        store = app.state["smithers"].server_store
        reads: list[str] = []
        read = store.reads.run_with_summary

        async def counted(run_id: str) -> Any:
            reads.append(run_id)
            return await read(run_id)

        monkeypatch.setattr(store.reads, "run_with_summary", counted)
        run_id = (await client.post("/v1/runs", json={"workflowPath": "gated.py"})).json()["runId"]

        async def until(status: str) -> Any:
            for _ in range(200):
                answer = await client.get(f"/v1/runs/{run_id}")
                if answer.json()["status"] == status:
                    return answer
                await asyncio.sleep(0.05)
            raise AssertionError(f"the run never became {status}")

        await until("waiting-approval")
        reads.clear()
        for _ in range(2):
            assert (await client.get(f"/v1/runs/{run_id}")).json()["status"] == "waiting-approval"
        assert reads == [run_id, run_id]
        assert (
            await client.post(f"/v1/runs/{run_id}/nodes/gate/approve", json={})
        ).status_code == 200
        first = await until("finished")  # read from the database, then kept
        reads.clear()
        again = [await client.get(f"/v1/runs/{run_id}") for _ in range(3)]
        assert reads == []
        assert {(a.content, a.headers["content-type"]) for a in again} == {
            (first.content, first.headers["content-type"])
        }
        body = first.json()
        assert body["summary"] == {"finished": 3}


def test_the_memory_is_bounded() -> None:
    final = FinalRuns(limit=2)
    for run_id in ("a", "b", "c"):
        final[run_id] = run_id.encode()
    assert list(final) == ["b", "c"]
