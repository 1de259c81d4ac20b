"""Runs of workflows that pin their own database are mirrored into the server database."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from smithers.server.app import create_app
from smithers.server.context import HOMES_KEPT, Homes
from smithers.server.process.settings import ServerSettings
from smithers.store.store import Store

PINNED = """
from smithers import workflow, Task, Sequence, Approval
@workflow("pinned", db="own.db")
def build(ctx):
    return Sequence(Task("a", value=1), Approval("gate"), Task("b", value=2))
"""


async def _until(check, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("homes_kept", [HOMES_KEPT, 0], ids=["remembered", "forgotten"])
async def test_mirrored_run_listing_events_and_decisions(tmp_path: Path, homes_kept: int) -> None:
    """Also with the run's home forgotten at once (the bounded cache evicted it): every
    route finds the run through its mirror copy's ``dbUrl``."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "pinned.py").write_text(textwrap.dedent(PINNED))
    settings = ServerSettings(db=str(tmp_path / "server.db"), root_dir=root)
    app = create_app(settings)
    app.state["smithers"].homes.limit = homes_kept
    async with AsyncTestClient(app) as client:
        run_id = (await client.post("/v1/runs", json={"workflowPath": "pinned.py"})).json()["runId"]

        async def waiting() -> bool:
            return (await client.get(f"/v1/runs/{run_id}")).json()["status"] == "waiting-approval"

        await _until(waiting)

        async def listed() -> bool:
            runs = (await client.get("/v1/runs")).json()
            return [(r["runId"], r["status"]) for r in runs] == [(run_id, "waiting-approval")]

        await _until(listed)  # the listing reads the server database: the mirror copy
        approvals = (await client.get("/v1/approvals")).json()["approvals"]
        assert [a["nodeId"] for a in approvals] == ["gate"]
        decided = await client.post(f"/v1/runs/{run_id}/nodes/gate/approve", json={})
        assert decided.status_code == 200

        async def finished() -> bool:
            return (await client.get(f"/v1/runs/{run_id}")).json()["status"] == "finished"

        await _until(finished)
    # After shutdown the mirror was flushed: same run, same events, same seqs.
    own = Store.open(str(root / "own.db"))
    server = Store.open(str(tmp_path / "server.db"))
    try:
        own_events = [
            (e.seq, e.payload_json) for e in await own.reads.list_events(run_id, -1, 1000)
        ]
        copied = [(e.seq, e.payload_json) for e in await server.reads.list_events(run_id, -1, 1000)]
        assert own_events and copied == own_events
        mirrored = await server.reads.get_run(run_id)
        assert mirrored is not None and mirrored.status == "finished"
        assert await server.reads.node_summary(run_id) == {"finished": 3}
        approval = await server.reads.list_approvals(run_id)
        assert [(a.node_id, a.status) for a in approval] == [("gate", "approved")]
    finally:
        await own.close()
        await server.close()


def test_homes_keep_only_the_newest_entries() -> None:
    homes = Homes(limit=3)
    for run_id in "abcde":
        homes[run_id] = run_id  # type: ignore[assignment]
    homes["c"] = "c again"  # type: ignore[assignment]
    assert list(homes.items()) == [("d", "d"), ("e", "e"), ("c", "c again")]
