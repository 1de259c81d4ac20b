"""``AsyncClient`` against a real server: the same routes, awaited."""

from __future__ import annotations

import pytest

from contracts.deployment import Deployment
from smithers.client import AsyncClient, ConflictError, NotFoundError, ResumeResult, RunRef
from tests.client.waiting import await_status


async def test_health_metrics_and_listings(aclient: AsyncClient) -> None:
    assert (await aclient.health()).ok
    assert "smithers_runs_total" in await aclient.metrics()
    assert isinstance(await aclient.list_runs(limit=5), list)
    assert isinstance(await aclient.list_approvals(), list)


async def test_run_lifecycle(aclient: AsyncClient, server: Deployment) -> None:
    run_id = (await aclient.start_run(server.workflow("approval"))).run_id
    await await_status(aclient, run_id, "waiting-approval")
    assert any(a.run_id == run_id for a in await aclient.list_approvals())
    assert (await aclient.approve(run_id, "gate")).status == "approved"
    run = await await_status(aclient, run_id, "finished")
    assert run.summary.get("finished", 0) >= 2
    frames = await aclient.list_frames(run_id, limit=2)
    assert 1 <= len(frames) <= 2 and frames[0].run_id == run_id
    with pytest.raises(ConflictError):
        await aclient.deny(run_id, "gate")


async def test_signal_cancel_and_resume(aclient: AsyncClient, server: Deployment) -> None:
    run_id = (await aclient.start_run(server.workflow("signal"))).run_id
    await await_status(aclient, run_id, "waiting-event")
    assert await aclient.resume_run(run_id) == ResumeResult(run_id=run_id)
    await await_status(aclient, run_id, "waiting-event")
    assert (await aclient.signal(run_id, "other")).delivered is False
    assert await aclient.cancel_run(run_id) == RunRef(run_id=run_id)
    assert (await aclient.get_run(run_id)).status == "cancelled"
    with pytest.raises(NotFoundError) as caught:
        await aclient.cancel_run("client-no-such-run")
    assert caught.value.message == "Run not found"


async def test_run_details_awaited(aclient: AsyncClient, server: Deployment) -> None:
    run_id = (await aclient.start_run(server.workflow("tooling"))).run_id
    await await_status(aclient, run_id, "finished")
    assert [n.output for n in await aclient.list_nodes(run_id)] == [{"sum": 5}]
    assert [c.tool for c in await aclient.list_tool_calls(run_id)] == ["add"]
    assert await aclient.run_input(run_id) == {}
    assert await aclient.transcript(run_id) == []
    assert (await aclient.run_counts()).total >= 1
    listed = await aclient.list_runs(limit=1, workflow="contract-tooling")
    assert [r.workflow_name for r in listed] == ["contract-tooling"]
