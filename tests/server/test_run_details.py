"""``GET /v1/runs/{runId}/nodes`` with typed outputs: decoded with the workflow's Struct, or
given as their table's columns once the workflow file no longer loads."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

from litestar.testing import AsyncTestClient

from smithers.server.app import create_app
from smithers.server.process.settings import ServerSettings

TYPED = """
import msgspec
from smithers import Task, workflow

class Verdict(msgspec.Struct):
    ok: bool
    tags: list[str]
    score: float

@workflow("typed")
def build(ctx):
    return Task("judge", lambda: Verdict(ok=True, tags=["a", "b"], score=0.5), output=Verdict)
"""


async def test_typed_outputs_decoded_then_as_stored(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "typed.py").write_text(textwrap.dedent(TYPED))
    settings = ServerSettings(db=str(tmp_path / "s.db"), root_dir=root, sandbox="none")
    async with AsyncTestClient(create_app(settings)) as client:
        run_id = (await client.post("/v1/runs", json={"workflowPath": "typed.py"})).json()["runId"]
        for _ in range(200):
            if (await client.get(f"/v1/runs/{run_id}")).json()["status"] == "finished":
                break
            await asyncio.sleep(0.02)
        [node] = (await client.get(f"/v1/runs/{run_id}/nodes")).json()
        assert node["output"] == {"ok": True, "tags": ["a", "b"], "score": 0.5}
        (root / "typed.py").write_text("raise SystemExit('gone')\n")
        [node] = (await client.get(f"/v1/runs/{run_id}/nodes")).json()
        # the file no longer loads: the row's columns, as SQLite keeps them
        assert node["output"] == {"ok": 1, "tags": '["a","b"]', "score": 0.5}
