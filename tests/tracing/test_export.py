"""Real ``smithers server`` processes exporting OTLP/HTTP to a receiver in the test; how
tracing is switched on and off; JSON log lines that join the traces."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx

from smithers.cli.common import EXIT_BAD_INPUT
from tests.server.process import ROOT, ServerProcess, status_of, wait_until
from tests.tracing.receiver import OtlpReceiver, ReceivedSpan

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"
TOKEN = "tok-7c1e9a0d4b"
SECRET_INPUT = "input-value-52f1"
SECRET_NOTE = "note-text-9d03"
SERVER = 2  # SpanKind.SPAN_KIND_SERVER in the protocol


def _exporting(receiver: OtlpReceiver) -> dict[str, str]:
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}


def _one(receiver: OtlpReceiver, name: str) -> ReceivedSpan:
    found = receiver.named(name)
    assert len(found) == 1, [s.name for s in receiver.spans]
    return found[0]


def test_two_servers_on_postgresql_export_one_trace(root: Path, pg_url: str) -> None:
    """A run started on A (two workers) under the caller's trace, approved on B, continues
    in the same trace; each process exports its own spans, and no secret, input or body is
    in any of them."""
    with OtlpReceiver() as receiver:
        env = _exporting(receiver)
        with (
            ServerProcess(root, pg_url, workers=2, token=TOKEN, env=env) as a,
            ServerProcess(root, pg_url, token=TOKEN, env=env) as b,
            httpx.Client(
                base_url=a.url, timeout=20, headers={"authorization": f"Bearer {TOKEN}"}
            ) as client_a,
            httpx.Client(
                base_url=b.url, timeout=20, headers={"authorization": f"Bearer {TOKEN}"}
            ) as client_b,
        ):
            started = client_a.post(
                "/v1/runs",
                json={"workflowPath": "approve.py", "input": {"apiKey": SECRET_INPUT}},
                headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"},
            )
            assert started.status_code == 200, started.text
            run_id = started.json()["runId"]
            wait_until(lambda: status_of(client_b, run_id) == "waiting-approval")
            decided = client_b.post(
                f"/v1/runs/{run_id}/nodes/ship/approve", json={"note": SECRET_NOTE}
            )
            assert decided.status_code == 200, decided.text
            wait_until(lambda: status_of(client_a, run_id) == "finished")
            assert client_a.get("/health").status_code == 200
        # both servers stopped: their workers flushed what was left
        start = _one(receiver, "POST /v1/runs")
        assert start.kind == SERVER and start.resource["service.name"] == "smithers"
        assert (start.trace_id, start.parent_span_id) == (CALLER_TRACE, CALLER_SPAN)
        assert start.attributes["smithers.run_id"] == run_id
        assert start.attributes["http.response.status_code"] == 200
        approve = _one(receiver, "POST /v1/runs/{runId}/nodes/{nodeId}/approve")
        runs = sorted(receiver.named("smithers.run"), key=lambda s: s.links != [start.span_id])
        assert len(runs) == 2, [
            (s.attributes["smithers.run.status"], s.resource["process.pid"]) for s in runs
        ]
        first, second = runs
        assert {first.trace_id, second.trace_id} == {CALLER_TRACE}
        assert first.parent_span_id == CALLER_SPAN and first.links == [start.span_id]
        assert first.attributes["smithers.run.status"] == "waiting-approval"
        assert second.parent_span_id == first.span_id and second.links == [approve.span_id]
        assert second.attributes["smithers.run.status"] == "finished"
        tasks = {s.attributes["smithers.node_id"]: s for s in receiver.named("smithers.task")}
        assert tasks["a"].parent_span_id == first.span_id
        assert tasks["b"].parent_span_id == second.span_id
        assert start.resource["process.pid"] != approve.resource["process.pid"]
        assert not [s for s in receiver.spans if "health" in s.name]
        everything = b"".join(receiver.raw_bodies)
        for secret in (TOKEN, SECRET_INPUT, SECRET_NOTE):
            assert secret.encode() not in everything, secret


def test_a_missing_extra_is_a_start_up_error(root: Path, tmp_path: Path) -> None:
    """Tracing asked for where OpenTelemetry cannot be imported: the server does not start
    and says which extra to install."""
    blocked = textwrap.dedent(
        """
        import sys
        class NoOpenTelemetry:
            def find_spec(self, name, path=None, target=None):
                if name == "opentelemetry" or name.startswith("opentelemetry."):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None
        sys.meta_path.insert(0, NoOpenTelemetry())
        from smithers.cli import main
        sys.exit(main(sys.argv[1:]))
        """
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            blocked,
            "server",
            "--port=0",
            f"--db={tmp_path / 's.db'}",
            f"--root={root}",
        ],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "SMITHERS_OTEL_ENABLED": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == EXIT_BAD_INPUT, done.stderr
    assert "SMITHERS_OTEL_ENABLED=1" in done.stderr
    assert "pip install 'smithers[otel]'" in done.stderr


def test_tracing_off_imports_nothing_of_opentelemetry(root: Path, tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        from litestar.testing import AsyncTestClient
        from smithers.server.process.asgi import app_from_env
        async def main():
            async with AsyncTestClient(app_from_env()) as client:
                answer = await client.post("/v1/runs", json={"workflowPath": "steps.py"})
                run_id = answer.json()["runId"]
                for _ in range(400):
                    if (await client.get(f"/v1/runs/{run_id}")).json()["status"] == "finished":
                        break
                    await asyncio.sleep(0.02)
                else:
                    raise SystemExit("the run did not finish")
        asyncio.run(main())
        loaded = sorted(name for name in sys.modules if name.startswith("opentelemetry"))
        print("loaded:", loaded)
        """
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "SMITHERS_SERVER_DB": str(tmp_path / "s.db"),
        "SMITHERS_ROOT": str(root),
        "SMITHERS_SANDBOX": "none",
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "loaded: []"


LOGGING = """
import logging
from smithers import workflow, Task

def noisy(t):
    logging.getLogger("smithers.example").warning("inside the task")
    return 1

@workflow("noisy")
def build(ctx):
    return Task("noisy", noisy)
"""


def test_json_log_lines_carry_the_span_they_were_made_in(root: Path, tmp_path: Path) -> None:
    (root / "noisy.py").write_text(LOGGING)
    with OtlpReceiver() as receiver:
        server = ServerProcess(
            root, str(tmp_path / "s.db"), extra=("--log-format=json",), env=_exporting(receiver)
        )
        with server, httpx.Client(base_url=server.url, timeout=20) as client:
            run_id = client.post("/v1/runs", json={"workflowPath": "noisy.py"}).json()["runId"]
            wait_until(lambda: status_of(client, run_id) == "finished")
        task = _one(receiver, "smithers.task")
    lines = [json.loads(line) for line in server.log if line.startswith("{")]
    assert len(lines) == len([line for line in server.log if line.strip()]), server.log
    assert any(line["message"].startswith("HTTP server listening on") for line in lines)
    inside = [line for line in lines if line["message"] == "inside the task"]
    assert len(inside) == 1, lines
    assert inside[0]["level"] == "WARNING" and inside[0]["logger"] == "smithers.example"
    assert (inside[0]["trace_id"], inside[0]["span_id"]) == (task.trace_id, task.span_id)


def test_smithers_up_exports_its_run(root: Path, tmp_path: Path) -> None:
    """The foreground command traces too, and exports everything before it exits."""
    with OtlpReceiver() as receiver:
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "smithers"),
                "up",
                str(root / "steps.py"),
                "-i",
                '{"n": 3}',
                "--db",
                str(tmp_path / "up.db"),
                "--json",
            ],
            cwd=ROOT,
            env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        run_id = json.loads(done.stdout)["runId"]
        run = _one(receiver, "smithers.run")
        load = receiver.named("smithers.workflow.load")
    assert run.attributes["smithers.run_id"] == run_id
    assert run.attributes["smithers.run.status"] == "finished"
    tasks = receiver.named("smithers.task")
    assert sorted(t.attributes["smithers.node_id"] for t in tasks) == ["t0", "t1", "t2"]
    assert {t.parent_span_id for t in tasks} == {run.span_id}
    assert load and load[0].attributes["smithers.workflow.cached"] is False
