"""Run the real ``smithers`` command in a subprocess, on pipes or on a pseudo-terminal."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SMITHERS = [str(Path(sys.executable).with_name("smithers"))]
"""The installed console script: the real command, as a user runs it."""
TIMEOUT = 60

WORKFLOWS = {
    "steps.py": """
        import msgspec
        from smithers import workflow, Task, Sequence

        class Input(msgspec.Struct):
            name: str = "world"

        def greet(t):
            t.log(f"greeting {t.input.name}")
            return {"text": f"Hello, {t.input.name}!"}

        @workflow("steps", input=Input)
        def build(ctx):
            return Sequence(Task("prepare", value=1), Task("greet", greet))
    """,
    "failing.py": """
        from smithers import workflow, Task, Sequence

        def boom():
            raise RuntimeError("disk on fire")

        @workflow("failing")
        def build(ctx):
            return Sequence(Task("prepare", value=1), Task("boom", boom, retries=1, backoff=0))
    """,
    "approval.py": """
        from smithers import workflow, Task, Sequence, Approval

        @workflow("approval")
        def build(ctx):
            return Sequence(
                Task("analyze", value={"severity": "low"}),
                Approval("ship", title="Ship it?", on_deny="fail"),
                Task("apply", lambda t: {"applied": t.output("ship").approved}),
            )
    """,
    "two_approvals.py": """
        from smithers import workflow, Task, Sequence, Parallel, Approval

        @workflow("two_approvals")
        def build(ctx):
            return Sequence(
                Parallel(Approval("legal", on_deny="fail"), Approval("security", on_deny="fail")),
                Task("release", value="released"),
            )
    """,
    "deploy_signal.py": """
        from smithers import workflow, Task, Sequence, Signal

        @workflow("signal")
        def build(ctx):
            return Sequence(
                Signal("go", name="deploy"),
                Task("report", lambda t: {"got": t.output("go")}),
            )
    """,
    "pause.py": """
        import msgspec
        from smithers import workflow, Task, Sequence, Timer

        class Input(msgspec.Struct):
            seconds: float = 3.0

        @workflow("pause", input=Input)
        def build(ctx):
            return Sequence(
                Task("before", value=1),
                Timer("pause", duration=ctx.input.seconds),
                Task("after", value=2),
            )
    """,
    "slow.py": """
        import time
        from pathlib import Path
        from smithers import workflow, Task, Sequence

        LOG = Path(__file__).with_name("slow.log")

        def step(t):
            with LOG.open("a") as f:
                f.write(t.node_id + "\\n")
            time.sleep(0.5)
            return t.node_id

        @workflow("slow")
        def build(ctx):
            return Sequence(*[Task(f"step{i:03d}", step) for i in range(120)])
    """,
}


@dataclass
class Result:
    """What a finished ``smithers`` process left."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """Stdout as one JSON document."""
        return json.loads(self.stdout)

    def json_lines(self) -> list[Any]:
        """Stdout as one JSON document per line."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def write_project(folder: Path) -> Path:
    """Every test workflow, written into ``folder``."""
    for name, source in WORKFLOWS.items():
        (folder / name).write_text(textwrap.dedent(source))
    return folder


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without settings that would change the command's choices."""
    env = {k: v for k, v in os.environ.items() if k not in ("SMITHERS_DB", "NO_COLOR")}
    env.update(extra)
    return env


def smithers(*args: str, cwd: Path, timeout: float = TIMEOUT, **env: str) -> Result:
    """Run ``smithers ARGS`` to its end with stdout and stderr on pipes."""
    proc = subprocess.run(
        [*SMITHERS, *args],
        cwd=cwd,
        env=environment(**env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def smithers_each(commands: list[list[str]], cwd: Path) -> list[Result]:
    """Run several independent ``smithers`` commands at once; their results in order."""
    procs = [start(*args, cwd=cwd) for args in commands]
    return [finish(proc) for proc in procs]


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """Start ``smithers ARGS`` in the background with stdout and stderr on pipes."""
    return subprocess.Popen(
        [*SMITHERS, *args],
        cwd=cwd,
        env=environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = TIMEOUT) -> Result:
    """Wait for a background ``smithers`` (killing it if it overstays)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return Result(proc.returncode, out, err)


def wait_until(condition: Any, timeout: float = 20, what: str = "condition") -> None:
    """Poll ``condition()`` until true, failing the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def on_pty(
    *args: str, cwd: Path, size: tuple[int, int] = (100, 30), timeout: float = TIMEOUT, **env: str
) -> tuple[Result, str]:
    """Run ``smithers ARGS`` with stderr on a pseudo-terminal; the result and the raw terminal text."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    proc = subprocess.Popen(
        [*SMITHERS, *args],
        cwd=cwd,
        env=environment(TERM="xterm-256color", **env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed its end
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        assert time.monotonic() < deadline, "the command on the terminal did not end in time"
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        os.close(master)
    return Result(proc.returncode, out.decode(), ""), b"".join(chunks).decode()


_TOKENS = re.compile(r"(\x1b\[[0-9;?]*[A-Za-z]|\r\n|\n|\r)")


def final_screen(raw: str) -> list[str]:
    """Replay terminal output (text, newlines, cursor-up, clear-down, colours) into its lines."""
    lines, row, col = [""], 0, 0
    for token in _TOKENS.split(raw):
        if not token:
            continue
        if token in ("\r\n", "\n"):
            row, col = row + 1, 0
            if row == len(lines):
                lines.append("")
        elif token == "\r":
            col = 0
        elif token.startswith("\x1b["):
            arg, command = token[2:-1], token[-1]
            count = int(arg) if arg.isdigit() else 1
            if command == "F":
                row, col = max(0, row - count), 0
            elif command == "J":
                del lines[row + 1 :]
                lines[row] = lines[row][:col]
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + token + line[col + len(token) :]
            col += len(token)
    while lines and not lines[-1]:
        lines.pop()
    return lines
