"""A model that can call ``bash`` is an attacker of the server that runs it. On a real server
process with real bubblewrap and the default layout (the database inside the root), each
attack of a tool call on the server itself fails: forging another run's approval or reading
its input through the database, injecting code into the workflow file the server imports,
writing a ``.pth`` into the server's Python environment inside the root, stalling the server
with one regular expression, and starting 40 commands from one model turn."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import httpx

from smithers.agents.testing import Call, Reply, ScriptedModel
from tests.server.process import ServerProcess, status_of, wait_until

MARKER = "private-" + uuid.uuid4().hex

ATTACK = """
    import json, os, sys
    from smithers import workflow, Task, Sequence, Approval
    from smithers.agents import OpenAIAgent
    from smithers.tools import bash

    FORGE = '''python3 - <<'EOF'
    import sqlite3
    try:
        db = sqlite3.connect("smithers.db")
        print(db.execute("select input_json from _smithers_runs").fetchall())
        db.execute("update _smithers_approvals set status = 'approved'")
        db.commit()
        print("FORGED")
    except Exception as exc:
        print("refused:", exc)
    EOF
    cat smithers.db* 2>/dev/null | grep -a -c private- ; echo scanned'''

    INJECT = "echo 'open(\\"pwned\\", \\"w\\")' >> {target}; echo rc=$?"

    async def both(t, command, path, content):
        # the attack through bash, then through the write tool
        out = (await t.tools.bash(command)).output
        try:
            await t.tools.write(path, content)
            written = "written"
        except Exception as exc:
            written = getattr(exc, "code", str(exc))
        return {"out": out, "write": written}

    async def attack(t):
        kind = t.input["attack"]
        if kind == "forge":
            return {"out": (await t.tools.bash(FORGE)).output}
        if kind == "inject":
            target = t.input.get("target", "attack.py")
            return await both(t, INJECT.format(target=target), target, "open('pwned', 'w')")
        if kind == "pth":
            site = next(p for p in sys.path
                        if p.endswith("site-packages") and p.startswith(str(t.root_dir)))
            rel = os.path.relpath(os.path.join(site, "evil.pth"), str(t.root_dir))
            return await both(t, f"echo 'import os' > {rel}; echo rc=$?", rel, "import os")
        if kind == "regex":
            await t.tools.write("a.txt", ("a" * 40 + "!\\n") * 50000)
            for _ in range(int(t.input.get("rounds", 20))):
                await t.tools.grep(r"^(a+)+$")
                await t.tools.glob("*" * 12 + "x")
            return {"out": "done"}
        raise ValueError(kind)

    def deploy(t):
        open("deployed", "w").write(t.input["secret"])
        return {"deployed": True}

    agent = OpenAIAgent(model="m", base_url=os.environ.get("MODEL_URL", "http://127.0.0.1:9"),
                        tools=[bash])

    @workflow("attack")
    def build(ctx):
        if "secret" in ctx.input:
            return Sequence(Approval("gate", title="Deploy?"), Task("deploy", deploy))
        if ctx.input.get("attack") == "fanout":
            return Task("fanout", agent=agent, prompt="Run them all.")
        return Task("attack", attack)
"""


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "attack.py").write_text(textwrap.dedent(ATTACK))
    return root


def _start(client: httpx.Client, body: dict) -> str:  # type: ignore[type-arg]
    response = client.post("/v1/runs", json={"workflowPath": "attack.py", **body})
    assert response.status_code == 200, response.text
    return str(response.json()["runId"])


def _output(client: httpx.Client, run_id: str, node: str) -> dict:  # type: ignore[type-arg]
    wait_until(lambda: status_of(client, run_id) in ("finished", "failed"), timeout=60)
    assert status_of(client, run_id) == "finished", client.get(f"/v1/runs/{run_id}/nodes").text
    nodes = client.get(f"/v1/runs/{run_id}/nodes").json()
    return next(n["output"] for n in nodes if n["nodeId"] == node)  # type: ignore[no-any-return]


def test_a_tool_cannot_read_or_forge_another_runs_data_through_the_database(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path)
    with (
        ServerProcess(root, str(root / "smithers.db")) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        victim = _start(client, {"input": {"secret": MARKER}})
        wait_until(lambda: status_of(client, victim) == "waiting-approval")
        out = _output(client, _start(client, {"input": {"attack": "forge"}}), "attack")["out"]
        assert MARKER not in out and "FORGED" not in out and "refused:" in out
        assert out.strip().endswith("0\nscanned")
        assert client.post(f"/v1/runs/{victim}/resume").status_code in (200, 409)
        time.sleep(0.5)
        assert status_of(client, victim) == "waiting-approval"
    assert not (root / "deployed").exists()
    assert (root / "smithers.db-journal").read_bytes() == b""


def test_a_tool_cannot_change_the_workflow_file_the_server_imports(tmp_path: Path) -> None:
    root = _project(tmp_path)
    before = (root / "attack.py").read_bytes()
    with (
        ServerProcess(root, str(tmp_path / "server.db")) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        run_id = _start(client, {"input": {"attack": "inject"}})
        output = _output(client, run_id, "attack")
        assert "Read-only file system" in output["out"] and "rc=1" in output["out"]
        assert output["write"] == "PATH_PROTECTED"
        assert client.get(f"/v1/runs/{run_id}/nodes").status_code == 200
        assert _output(client, _start(client, {"input": {"attack": "inject"}}), "attack")
    assert (root / "attack.py").read_bytes() == before
    assert not (root / "pwned").exists()


VICTIM = """
    from smithers import workflow, Task, Sequence, Approval

    @workflow("victim")
    def build(ctx):
        return Sequence(Approval("gate", title="Go?"), Task("after", value=1))
"""


def test_a_waiting_runs_workflow_is_protected_after_a_restart(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "victim.py").write_text(textwrap.dedent(VICTIM))
    before = (root / "victim.py").read_bytes()
    db = str(tmp_path / "server.db")
    with ServerProcess(root, db) as server, httpx.Client(base_url=server.url) as client:
        response = client.post("/v1/runs", json={"workflowPath": "victim.py"})
        victim = response.json()["runId"]
        wait_until(lambda: status_of(client, victim) == "waiting-approval")
    # a new process, which has not loaded victim.py: the run waiting on it will
    with ServerProcess(root, db) as server, httpx.Client(base_url=server.url) as client:
        body = {"input": {"attack": "inject", "target": "victim.py"}}
        output = _output(client, _start(client, body), "attack")
        assert "Read-only file system" in output["out"] and output["write"] == "PATH_PROTECTED"
    assert (root / "victim.py").read_bytes() == before


def _venv_inside(root: Path) -> Path:
    """A virtual environment inside ``root`` whose Python sees this test run's packages (a
    ``.pth`` naming their folder), as ``uv run`` in a project folder makes one."""
    venv = root / ".venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    site = next(venv.glob("lib/python3*/site-packages"))
    ours = [p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)]
    (site / "_smithers_test_packages.pth").write_text("\n".join(ours) + "\n")
    return venv


def test_a_tool_cannot_write_into_the_python_environment_inside_the_root(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path)
    venv = _venv_inside(root)
    program = (str(venv / "bin" / "python"), "-m", "smithers.server")
    with (
        ServerProcess(root, str(tmp_path / "server.db"), program=program) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        output = _output(client, _start(client, {"input": {"attack": "pth"}}), "attack")
    assert "rc=0" not in output["out"] and output["write"] == "PATH_PROTECTED"
    assert not list(venv.glob("lib/python3*/site-packages/evil.pth"))


def test_health_answers_within_100_ms_while_patterns_run(tmp_path: Path) -> None:
    root = _project(tmp_path)
    with (
        ServerProcess(root, str(tmp_path / "server.db")) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        run_id = _start(client, {"input": {"attack": "regex", "rounds": 30}})
        wait_until(lambda: (root / "a.txt").exists())
        latencies = []
        while status_of(client, run_id) == "running" and len(latencies) < 400:
            began = time.perf_counter()
            assert client.get("/health").status_code == 200
            latencies.append(time.perf_counter() - began)
            time.sleep(0.01)
        assert _output(client, run_id, "attack") == {"out": "done"}
    assert latencies and max(latencies) < 0.1, max(latencies)


def test_one_model_turn_of_40_commands_runs_at_most_8_at_once(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "times").mkdir()
    command = "date +%s.%N > times/{i}.start; sleep 0.2; date +%s.%N > times/{i}.end"
    calls = [("bash", {"command": command.format(i=i)}) for i in range(40)]
    script = [Call(*calls[0], more=tuple(calls[1:])), Reply("done")]
    with (
        ScriptedModel(script) as model,
        ServerProcess(
            root, str(tmp_path / "server.db"), env={"MODEL_URL": model.base_url}
        ) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        run_id = _start(client, {"input": {"attack": "fanout"}})
        wait_until(lambda: status_of(client, run_id) == "finished", timeout=60)
    spans = [
        (
            float((root / f"times/{i}.start").read_text()),
            float((root / f"times/{i}.end").read_text()),
        )
        for i in range(40)
    ]
    peak = max(sum(1 for s, e in spans if s <= at < e) for at, _ in spans)
    assert 1 < peak <= 8, peak
