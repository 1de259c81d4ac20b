"""Serve mode: the HTTP API scoped to one run, sharing the process's scheduler."""

from __future__ import annotations

import asyncio

from litestar.testing import AsyncTestClient

from smithers.server.process.settings import ServerSettings
from smithers.server.serve import create_serve_app
from tests.helpers import Harness

FLOW = """
from smithers import workflow, Task, Sequence, Approval
@workflow("served")
def build(ctx):
    return Sequence(Task("a", value=1), Approval("ok"), Task("b", value=2))
"""


async def test_serve_mode_routes(sqlite_url: str, write_workflow) -> None:
    path = write_workflow(FLOW)
    async with Harness(sqlite_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "waiting-approval"
        settings = ServerSettings(auth_token="secret", metrics=False)
        app = create_serve_app(settings, h.scheduler, h.store, run_id)
        auth = {"Authorization": "Bearer secret"}
        async with AsyncTestClient(app) as client:
            assert (await client.get("/health")).json() == {"ok": True}  # no token needed
            assert (await client.get("/")).status_code == 401
            body = (await client.get("/", headers=auth)).json()
            assert body["runId"] == run_id and body["status"] == "waiting-approval"
            assert (await client.get("/metrics", headers=auth)).status_code == 404  # --no-metrics
            frames = (await client.get("/frames?limit=1", headers=auth)).json()
            assert len(frames) == 1 and frames[0]["runId"] == run_id
            bad = await client.get("/frames?limit=0", headers=auth)
            assert bad.status_code == 400
            waiter = asyncio.create_task(h.wait(run_id))
            decided = await client.post("/approve/ok", headers=auth, json={"note": "fine"})
            assert decided.json() == {
                "runId": run_id,
                "nodeId": "ok",
                "iteration": 0,
                "status": "approved",
            }
            await h.scheduler.resume_run(h.store, run_id)
            assert (await waiter).status == "finished"
            again = await client.post("/deny/ok", headers=auth)
            assert (
                again.status_code == 409 and again.json()["error"]["code"] == "APPROVAL_NOT_PENDING"
            )
            stream = await client.get("/events", headers=auth)
            assert stream.headers["content-type"] == "text/event-stream"
            assert stream.text.startswith("retry: 1000\n\n") and "RunFinished" in stream.text
            cancel = await client.post("/cancel", headers=auth)
            assert cancel.status_code == 409 and cancel.json()["error"]["code"] == "RUN_NOT_ACTIVE"


async def test_serve_mode_missing_run_is_run_not_found(sqlite_url: str) -> None:
    async with Harness(sqlite_url) as h:
        app = create_serve_app(ServerSettings(), h.scheduler, h.store, "smi_missing")
        async with AsyncTestClient(app) as client:
            response = await client.get("/")
            assert response.status_code == 404
            assert response.json() == {
                "error": {"code": "RUN_NOT_FOUND", "message": "Run not found"}
            }
            assert (await client.get("/metrics")).status_code == 200
