"""Secrets on a real server process: a provider's 401 that echoes the API key, and a task
whose error and log line hold the server's bearer token and that key, come out as ``***`` in
the SSE events, ``GET /v1/runs/{id}/nodes``, the stored attempt rows and the log lines (text
and JSON log formats); httpx's line shows the endpoint without its userinfo and query."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import httpx
import pytest

from smithers.agents.testing import Fail, ScriptedModel
from tests.server.process import ServerProcess, events_of, status_of, wait_until

KEY = "sk-live-echoed-in-a-401-0123456789"
TOKEN = "server-bearer-token-never-shown-42"
URL_SECRETS = ("url-pass-never-shown-7", "query-key-never-shown-8")

WORKFLOW = """
    import logging, os
    from smithers import Sequence, Task, workflow
    from smithers.agents import OpenAIAgent

    agent = OpenAIAgent(model="m", base_url=os.environ["MODEL_URL"], max_retries=0)

    def leak(ctx):
        token, key = os.environ["SMITHERS_API_KEY"], os.environ["OPENAI_API_KEY"]
        logging.getLogger("smithers.workflow").warning("token %s, key %s", token, key)
        raise RuntimeError(f"denied: token {token}, key {key}")

    @workflow("leaks")
    def build(ctx):
        if ctx.input.get("leak"):
            return Sequence(Task("leak", fn=leak))
        return Sequence(Task("ask", agent=agent, prompt="Hello."))
"""


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_secrets_are_stars_in_events_nodes_rows_and_logs(tmp_path: Path, log_format: str) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "leaks.py").write_text(textwrap.dedent(WORKFLOW))
    db = tmp_path / "s.db"
    with ScriptedModel([Fail(401, f"Incorrect API key provided: {KEY}")]) as model:
        host = model.base_url.removeprefix("http://")
        url = f"http://gw:{URL_SECRETS[0]}@{host}?api-key={URL_SECRETS[1]}"
        env = {"MODEL_URL": url, "OPENAI_API_KEY": KEY}
        with (
            ServerProcess(
                root, str(db), token=TOKEN, env=env, extra=(f"--log-format={log_format}",)
            ) as server,
            httpx.Client(
                base_url=server.url, timeout=30, headers={"authorization": f"Bearer {TOKEN}"}
            ) as client,
        ):
            shown: list[str] = []
            for body in ({"input": {}}, {"input": {"leak": True}}):  # the key is read first
                response = client.post("/v1/runs", json={"workflowPath": "leaks.py", **body})
                run_id = response.json()["runId"]
                wait_until(lambda run_id=run_id: status_of(client, run_id) == "failed")
                events = events_of(client, run_id)
                (failed,) = [e for e in events if e["type"] == "NodeFailed"]
                shown += [json.dumps(events), client.get(f"/v1/runs/{run_id}/nodes").text]
                shown.append(client.get(f"/v1/runs/{run_id}").text)
                if body["input"]:
                    message = "denied: token ***, key ***"
                else:
                    message = "401 from openai: Incorrect API key provided: ***"
                assert failed["error"]["message"] == message
            wait_until(lambda: any("token ***, key ***" in line for line in server.log))
            request = f"HTTP Request: POST http://{host}/chat/completions "
            wait_until(lambda: any(request in line for line in server.log))
    with sqlite3.connect(db) as conn:
        stored = [row[0] for row in conn.execute("SELECT error_json FROM _smithers_attempts")]
        stored += [row[0] for row in conn.execute("SELECT error_json FROM _smithers_runs")]
        stored += [row[0] for row in conn.execute("SELECT payload_json FROM _smithers_events")]
    assert len([s for s in stored if s and "***" in s]) >= 4
    for text in [*shown, *[s for s in stored if s], *server.log]:
        assert KEY not in text and TOKEN not in text
        assert not any(secret in text for secret in URL_SECRETS)
