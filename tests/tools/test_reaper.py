"""``--sandbox none``: every process a bash call starts ends with the call — on its normal
exit, at its timeout, on cancel, and when the server dies — without a PID namespace, and
without the pids cgroup (disabled here: the supervisor alone must do it). Real processes; a
marker in their command line finds them in /proc."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from smithers.errors import ToolTimeout
from smithers.tools.process_limit import PidsCgroup
from smithers.tools.reaper import end, supervised
from smithers.tools.shell import Shell

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the supervisor is Linux only")

REPO = Path(__file__).resolve().parents[2]

LEFT_BEHIND = {
    "background": "sleep {m} &",
    "setsid": "setsid sleep {m} &",
    "double-fork": "( ( sleep {m} & ) & )",
    "detached": "nohup setsid sleep {m} > /dev/null 2>&1 < /dev/null &",
}
"""Processes a command leaves running, each holding ``{m}`` (the marker) in its argv."""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "run-root"
    folder.mkdir()
    return folder


@pytest.fixture
def no_cgroup(monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls run as where no pids cgroup can be made (no cgroup to kill what is left)."""
    monkeypatch.setattr(PidsCgroup, "create", classmethod(lambda cls, pids_max=0: None))


def _marker() -> str:
    return f"100.{uuid.uuid4().int % 10**12:012d}"  # a valid `sleep` argument


def _with_marker(marker: str) -> list[int]:
    """Pids of the processes (zombies have no command line) whose argv holds ``marker``."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                argv = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker.encode() in argv:
                found.append(int(name))
    return found


async def _until_running(marker: str, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(_with_marker(marker)) < count:
        assert time.monotonic() < deadline, "the command's processes never started"
        await asyncio.sleep(0.01)


@pytest.mark.usefixtures("no_cgroup")
@pytest.mark.parametrize("shape", sorted(LEFT_BEHIND))
async def test_what_a_command_leaves_ends_when_it_exits(root: Path, shape: str) -> None:
    marker = _marker()
    command = LEFT_BEHIND[shape].format(m=marker)
    started = time.monotonic()
    result = await Shell(root, sandbox="none").run(f"{command}\necho started; exit 3", timeout=30)
    assert (result.exit_code, result.output) == (3, "started\n")
    assert time.monotonic() - started < 5  # not kept waiting by a process holding the output
    assert _with_marker(marker) == []


@pytest.mark.usefixtures("no_cgroup")
@pytest.mark.parametrize("shape", sorted(LEFT_BEHIND))
async def test_a_timeout_ends_every_process(root: Path, shape: str) -> None:
    marker = _marker()
    command = LEFT_BEHIND[shape].format(m=marker)
    with pytest.raises(ToolTimeout) as raised:
        await Shell(root, sandbox="none").run(f"{command}\necho begun; sleep {marker}", timeout=1)
    assert "begun" in (raised.value.details or {})["outputTail"]
    assert _with_marker(marker) == []


@pytest.mark.usefixtures("no_cgroup")
@pytest.mark.parametrize("shape", sorted(LEFT_BEHIND))
async def test_cancel_ends_every_process_within_250_ms(root: Path, shape: str) -> None:
    marker = _marker()
    command = LEFT_BEHIND[shape].format(m=marker)
    call = asyncio.create_task(
        Shell(root, sandbox="none").run(f"{command}\nsleep {marker}", timeout=60)
    )
    await _until_running(marker, 2)
    started = time.monotonic()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert time.monotonic() - started < 0.25
    assert _with_marker(marker) == []


async def test_with_the_pids_cgroup_too(root: Path) -> None:
    marker = _marker()
    command = "\n".join(shape.format(m=marker) for shape in LEFT_BEHIND.values())
    result = await Shell(root, sandbox="none").run(f"{command}\necho done", timeout=30)
    assert result.output == "done\n" and _with_marker(marker) == []


@pytest.mark.usefixtures("no_cgroup")
async def test_a_process_tree_that_keeps_forking_is_ended(root: Path) -> None:
    marker = _marker()
    forking = f"for i in $(seq 20); do ( setsid sleep {marker} & sleep {marker} ) & done"
    result = await Shell(root, sandbox="none").run(f"{forking}; sleep 0.3; echo ok", timeout=30)
    assert result.output == "ok\n" and _with_marker(marker) == []


@pytest.mark.usefixtures("no_cgroup")
async def test_output_exit_codes_and_signals_pass_through(root: Path) -> None:
    shell = Shell(root, sandbox="none")
    both = await shell.run("echo out; echo err >&2; exit 7", timeout=10)
    assert (both.exit_code, both.output) == (7, "out\nerr\n")
    # SIGPIPE is back to its default for the command (Python ignores it): no EPIPE message
    piped = await shell.run("yes | head -n 2; echo ${PIPESTATUS[0]}", timeout=10)
    assert piped.output == "y\ny\n141\n"
    killed = await shell.run("kill -KILL $$", timeout=10)
    assert killed.exit_code == 128 + signal.SIGKILL  # as bubblewrap reports it
    big = await Shell(root, sandbox="none", max_output_bytes=1000).run(
        "echo FIRST; seq 1 100000; echo LAST", timeout=20
    )
    assert big.truncated and big.output.startswith("FIRST\n") and big.output.endswith("LAST\n")


def test_the_command_line_runs_bash_under_a_supervisor_of_this_process() -> None:
    argv = supervised(["/bin/bash", "-c", "true"])
    assert argv[:3] == [sys.executable, "-I", "-S"] and argv[-3:] == ["/bin/bash", "-c", "true"]
    assert argv[4] == str(os.getpid())


async def test_a_supervisor_that_does_not_end_is_killed_with_its_group() -> None:
    stubborn = await asyncio.create_subprocess_exec(
        "/bin/bash", "-c", "trap '' TERM; sleep 60 & wait", start_new_session=True
    )
    await asyncio.sleep(0.1)  # the trap is set
    started = time.monotonic()
    await end(stubborn, grace=0.2)
    assert stubborn.returncode == -signal.SIGKILL and time.monotonic() - started < 1


SERVER = """
import asyncio, sys
from pathlib import Path
from smithers.tools.process_limit import PidsCgroup
from smithers.tools.shell import Shell

PidsCgroup.create = classmethod(lambda cls, pids_max=0: None)
marker = sys.argv[1]
command = f"setsid sleep {marker} & ( ( sleep {marker} & ) & ); echo up; sleep {marker}"
asyncio.run(Shell(Path(sys.argv[2]), sandbox="none").run(command, timeout=60))
"""


async def test_the_processes_end_when_the_server_dies(root: Path) -> None:
    marker = _marker()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", textwrap.dedent(SERVER), marker, str(root), cwd=REPO
    )
    try:
        await _until_running(marker, 3)
        server.kill()  # no clean-up of its own: the supervisor's parent-death signal
        await server.wait()
        deadline = time.monotonic() + 2
        while _with_marker(marker):
            assert time.monotonic() < deadline, _with_marker(marker)
            await asyncio.sleep(0.02)
    finally:
        if server.returncode is None:
            server.kill()
        for pid in _with_marker(marker):
            os.kill(pid, signal.SIGKILL)
