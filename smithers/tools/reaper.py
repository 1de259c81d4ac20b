"""Every process of a ``--sandbox none`` bash call ends with the call: a supervisor per call.

Under bubblewrap a call's processes live in a PID namespace that ends with its first process;
with ``--sandbox none`` there is none, and killing the call's process group misses what left
it (``setsid``, a double-forked daemon), while a background process still holding the output
pipe kept the call waiting for its timeout. Here each call runs under a small supervisor,
this file run as a script: it makes itself a child subreaper (``PR_SET_CHILD_SUBREAPER``:
whatever is orphaned below it is reparented to it, not to init), asks for SIGTERM when the
server dies (``PR_SET_PDEATHSIG``), and runs ``/bin/bash -c command`` as its child, the output
passed straight through. When bash exits, or on SIGTERM (the server's timeout or cancel, or
the server's death), it kills every remaining descendant, found through ``/proc`` by parent
pid, again until it has no child left, reaps them and exits with bash's status (``128 + N``
for a signal, as bubblewrap reports it). No privilege and no namespace is needed.

Not contained: processes that changed their user (setuid programs; an unprivileged server
cannot signal them; given up on after ``CLEANUP_S``), and work handed to something outside
the call (``systemd-run``, ``at``, a daemon over a socket). If the supervisor itself is
SIGKILLed (the server's fallback after ``END_GRACE_S``, the OOM killer), bash dies with it
(its own parent-death signal) but its orphans do not. Linux only: elsewhere the command runs
as it is, in its process group.

Cost: a Python start. The supervisor's top level imports nothing but modules built into the
interpreter (``posix``, ``_signal``, ``_ctypes``, ``time``; ``os``, ``signal`` and ``ctypes``
would add about 7 ms) and runs with ``-I -S`` (no ``site``). On the 2-core test machine a
``true`` call takes about 11 ms instead of 1.9 ms: the interpreter's start is 5.4 ms of the
difference, reading and compiling this file 0.8 ms, the fork 0.6 ms. ``/proc`` is read only
when bash has left processes behind (about 3 ms more).
"""

import _ctypes
import _signal  # type: ignore[import-not-found]  # CPython's signal module, without the enums
import posix
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio

__all__ = ["CLEANUP_S", "END_GRACE_S", "end", "supervised"]

CLEANUP_S = 1.0
"""How long the supervisor keeps killing (a process it may not signal never ends)."""
END_GRACE_S = 2.0
"""How long the server waits for the supervisor after SIGTERM before killing its group."""

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_STOP_SIGNALS = (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP)


# --- the server's side --------------------------------------------------------------------


_SUPERVISED = sys.platform == "linux" and bool(sys.executable)
"""Whether calls get a supervisor (``prctl`` and ``/proc`` are Linux's)."""


def supervised(argv: list[str]) -> list[str]:
    """``argv`` run under a supervisor of this process (on Linux; elsewhere ``argv``)."""
    if not _SUPERVISED:
        return argv
    return [sys.executable, "-I", "-S", __file__, str(posix.getpid()), *argv]


async def end(proc: "asyncio.subprocess.Process", grace: float = END_GRACE_S) -> None:
    """End a supervised call and every process of it: SIGTERM to its supervisor, which kills
    them all and exits; its process group killed if it has not within ``grace`` (at once
    where there is no supervisor)."""
    import asyncio  # here, not at the top: the supervisor's start stays cheap

    if proc.returncode is None and _SUPERVISED:
        try:
            proc.terminate()
        except ProcessLookupError:
            pass
        try:
            async with asyncio.timeout(grace):
                await asyncio.shield(proc.wait())
        except TimeoutError:
            pass
    if proc.returncode is None:
        try:
            posix.killpg(proc.pid, _signal.SIGKILL)
        except ProcessLookupError:
            pass
        await asyncio.shield(proc.wait())


# --- the supervisor -----------------------------------------------------------------------


class _Stop(Exception):
    """Raised by the handler of a stop signal, out of the wait for bash."""


class _State:
    waiting = True
    """Whether a stop signal still interrupts (not once the cleanup has begun)."""


def _on_stop(signum: int, frame: object) -> None:
    if _State.waiting:
        raise _Stop


class _LibcFunction(_ctypes.CFuncPtr):
    _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO


def _prctl(option: int, value: int) -> None:
    # dlopen(NULL): the program's own symbols, libc's among them (whatever its file name)
    prctl = _LibcFunction(_ctypes.dlsym(_ctypes.dlopen(None), "prctl"))  # type: ignore[arg-type]
    if prctl(option, value, 0, 0, 0) != 0:
        raise OSError(_ctypes.get_errno(), f"prctl({option}, {value})")


def _exec(argv: list[str], supervisor: int) -> None:
    """In the forked child: die with the supervisor, then become ``argv``."""
    try:
        _prctl(_PR_SET_PDEATHSIG, _signal.SIGKILL)
        if posix.getppid() != supervisor:  # it died before that took effect
            posix._exit(128 + _signal.SIGKILL)
        # Python ignores these two; an ignored signal stays ignored across exec
        _signal.signal(_signal.SIGPIPE, _signal.SIG_DFL)
        _signal.signal(_signal.SIGXFSZ, _signal.SIG_DFL)
        posix.execv(argv[0], argv)
    except BaseException as exc:
        posix.write(2, f"smithers: cannot run {argv[0]}: {exc}\n".encode())
    posix._exit(127)


def _descendants(ancestor: int) -> list[int]:
    """Every process below ``ancestor`` now, parents before their children (from /proc)."""
    children: dict[int, list[int]] = {}
    for name in posix.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fd = posix.open(f"/proc/{name}/stat", posix.O_RDONLY)
        except OSError:
            continue
        try:
            stat = posix.read(fd, 1024)
        except OSError:
            continue
        finally:
            posix.close(fd)
        after_name = stat.rpartition(b")")[2].split()  # "pid (comm) state ppid …"
        if len(after_name) > 1:
            children.setdefault(int(after_name[1]), []).append(int(name))
    found = list(children.get(ancestor, ()))
    for pid in found:  # grows while it is walked: breadth first
        found.extend(children.get(pid, ()))
    return found


def _end_all(deadline: float) -> bool:
    """Kill and reap every descendant; ``False`` if some were still there at ``deadline``.

    No child left means no descendant left: an orphan is reparented to this subreaper, so
    every living descendant has a living parent below it. Parents are killed before their
    children, so a child's pid cannot be freed (and reused) between reading it and killing
    it, except in the microseconds between the ``/proc`` walk and the kill of its parent.
    """
    me = posix.getpid()
    pause = 0.0005
    while True:
        try:
            while posix.waitpid(-1, posix.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            return True
        if time.monotonic() > deadline:
            return False
        for pid in _descendants(me):
            try:
                posix.kill(pid, _signal.SIGKILL)
            except OSError:  # gone already, or not ours to signal (it changed its user)
                pass
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def _exit_code(status: int) -> int:
    code = posix.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def main(args: list[str]) -> int:
    """``SERVER_PID ARGV…``: run ``ARGV`` and end every process it leaves; its exit code."""
    server, argv = int(args[0]), args[1:]
    for signum in _STOP_SIGNALS:
        _signal.signal(signum, _on_stop)
    try:
        _prctl(_PR_SET_CHILD_SUBREAPER, 1)
        _prctl(_PR_SET_PDEATHSIG, _signal.SIGTERM)
    except OSError as exc:  # Linux has had both since 3.4: not run unsupervised
        posix.write(2, f"smithers: cannot supervise the command: {exc}\n".encode())
        return 126
    code: int = 128 + _signal.SIGTERM
    try:
        if posix.getppid() != server:  # the server died before that took effect
            raise _Stop
        me = posix.getpid()
        child = posix.fork()
        if child == 0:
            _exec(argv, me)
        while True:  # orphans are reaped as they end, not left as zombies
            pid, status = posix.waitpid(-1, 0)
            if pid == child:
                _State.waiting = False
                code = _exit_code(status)
                break
    except _Stop:
        pass
    _State.waiting = False
    _end_all(time.monotonic() + CLEANUP_S)
    return code


if __name__ == "__main__":
    posix._exit(main(sys.argv[1:]))
