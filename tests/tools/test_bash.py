"""The bash tool in its sandbox, on this machine: real processes, real namespaces, the real
PostgreSQL on loopback as the thing it must not reach. The sandbox must work here: where it
cannot be created these tests fail, they do not skip."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from smithers.errors import InvalidToolInput, ToolTimeout
from smithers.tools.process_limit import PIDS_MAX, PidsCgroup, cgroup_parent
from smithers.tools.sandbox import SandboxPolicy, bwrap_argv
from smithers.tools.shell import Shell, sandbox_problem
from tests.conftest import PG_AVAILABLE

PG_PROBE = (
    "python3 -c 'import socket; s = socket.socket(); s.settimeout(2); "
    's.connect(("127.0.0.1", 5432)); print("CONNECTED")\''
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "run-root"
    folder.mkdir()
    return folder


def test_the_sandbox_can_be_created_here() -> None:
    assert sandbox_problem() is None


def test_the_command_line_is_built_from_the_policy(root: Path) -> None:
    offline = bwrap_argv("bwrap", SandboxPolicy(root=root, env={"PATH": "/usr/bin"}), ["true"])
    online = bwrap_argv("bwrap", SandboxPolicy(root=root, allow_network=True), ["true"])
    assert "--unshare-all" in offline and "--share-net" not in offline
    assert "--share-net" in online and "/etc/resolv.conf" not in offline
    assert offline[offline.index("--clearenv") :].count("--setenv") == 1
    assert offline.index("--tmpfs") < offline.index("--bind")  # the root over the private /tmp
    assert offline[-7:] == ["--bind", str(root), str(root), "--chdir", str(root), "--", "true"]
    assert "--cap-drop" in offline and "--die-with-parent" in offline


async def test_without_network_nothing_is_reachable(root: Path) -> None:
    shell = Shell(root)
    probes = {
        "python": PG_PROBE,
        "dev-tcp": "exec 3<>/dev/tcp/127.0.0.1/5432 && echo CONNECTED",
        "resolve": "getent hosts localhost.localdomain example.com && echo RESOLVED",
    }
    for name, command in probes.items():
        result = await shell.run(command, timeout=10)
        assert result.exit_code != 0, (name, result.output)
        assert "CONNECTED" not in result.output and "RESOLVED" not in result.output


@pytest.mark.skipif(not PG_AVAILABLE, reason="no PostgreSQL on 127.0.0.1:5432 to reach")
async def test_with_network_the_host_loopback_is_reachable(root: Path) -> None:
    result = await Shell(root, allow_network=True).run(PG_PROBE, timeout=10)
    assert result.exit_code == 0 and "CONNECTED" in result.output, result.output


async def test_it_sees_its_root_and_nothing_else_of_the_host(root: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-run"
    other.mkdir()
    (other / "theirs.txt").write_text("other run")
    database = tmp_path / "server.db"
    database.write_text("server database")
    environ = {"PATH": "/usr/bin:/bin", "SMITHERS_API_KEY": "k-smithers", "OPENAI_API_KEY": "k-oa"}
    shell = Shell(root, environ=environ)
    result = await shell.run(
        f"echo mine > mine.txt; pwd; env; cat {database}; cat {other}/theirs.txt; ls /root;"
        " touch /usr/bin/x /etc/x; echo private > /tmp/p.txt; cat /tmp/p.txt",
        timeout=10,
    )
    assert (root / "mine.txt").read_text() == "mine\n"
    assert str(root) in result.output and "private" in result.output
    for leaked in ("k-smithers", "k-oa", "SMITHERS_API_KEY", "server database", "other run"):
        assert leaked not in result.output
    assert not Path("/usr/bin/x").exists() and not Path("/etc/x").exists()
    assert not Path("/tmp/p.txt").exists()


async def test_python_of_this_environment_runs_inside(root: Path) -> None:
    result = await Shell(root).run("python3 -c 'print(6 * 7)'", timeout=20)
    assert result.exit_code == 0 and result.output.strip() == "42", result.output


async def test_a_failing_command_is_a_result(root: Path) -> None:
    result = await Shell(root).run("echo out; echo err >&2; exit 3", timeout=10)
    assert (result.exit_code, result.output, result.truncated) == (3, "out\nerr\n", False)


async def test_output_keeps_its_head_and_tail_within_the_budget(root: Path) -> None:
    shell = Shell(root, max_output_bytes=1000)
    result = await shell.run("echo FIRST; seq 1 100000; echo LAST", timeout=20)
    assert result.truncated and result.exit_code == 0
    assert result.output.startswith("FIRST\n") and result.output.endswith("LAST\n")
    assert len(result.output.encode()) < 1100


def _alive(marker: str) -> bool:
    found = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return bool(found.stdout.strip())


async def test_a_timeout_kills_every_process_of_the_command(root: Path) -> None:
    marker = f"1000.{uuid.uuid4().int % 10**9}"
    started = time.monotonic()
    with pytest.raises(ToolTimeout) as raised:
        await Shell(root).run(f"echo begun; (sleep {marker} &); sleep {marker}", timeout=0.5)
    assert time.monotonic() - started < 2
    assert "begun" in (raised.value.details or {})["outputTail"]
    await asyncio.sleep(0.2)
    assert not _alive(marker)


async def test_cancel_stops_the_command_within_250_ms(root: Path) -> None:
    marker = f"2000.{uuid.uuid4().int % 10**9}"
    call = asyncio.create_task(Shell(root).run(f"sleep {marker}", timeout=60))
    deadline = time.monotonic() + 10
    while not _alive(marker):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    started = time.monotonic()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert time.monotonic() - started < 0.25
    assert not _alive(marker)


async def test_bad_arguments_are_refused(root: Path) -> None:
    shell = Shell(root)
    for command, timeout in (("", None), ("true", 0), ("true", 3601), ("x" * 100_001, None)):
        with pytest.raises(InvalidToolInput):
            await shell.run(command, timeout=timeout)


CAPPED = pytest.mark.skipif(
    not PidsCgroup.available(),
    reason="this process may not create pids cgroups: bash calls run without a process cap",
)


@CAPPED
async def test_a_command_cannot_have_more_processes_than_the_cap(root: Path) -> None:
    many = f"for i in $(seq {PIDS_MAX + 50}); do sleep 5 & done 2>&1 | head -c 300; kill 0"
    result = await Shell(root).run(f"({many}); echo AFTER", timeout=20)
    assert "fork" in result.output.lower() or "resource" in result.output.lower(), result.output


@CAPPED
async def test_a_fork_bomb_is_capped_and_killed_at_the_timeout(root: Path) -> None:
    parent = cgroup_parent()
    assert parent is not None and PidsCgroup.available()  # never run one uncapped
    before = set(parent.glob("smithers-bash-*"))
    started = time.monotonic()
    with pytest.raises(ToolTimeout):
        await Shell(root).run("bomb() { bomb | bomb & }; bomb; sleep 30", timeout=2)
    assert time.monotonic() - started < 5
    assert set(parent.glob("smithers-bash-*")) <= before  # the call's cgroup was removed
    after = await Shell(root).run("echo still-working", timeout=10)  # and the machine goes on
    assert after.output == "still-working\n"
