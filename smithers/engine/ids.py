"""Run ids (``smi_`` + a lowercase ULID) and process owner ids (``<host>:<pid>:<uuid>``)."""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
import uuid

__all__ = ["RUN_ID_PATTERN", "new_owner_id", "new_run_id", "owner_is_dead_here"]

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$")
"""What an explicit run id must look like."""

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def new_run_id(now_ms: int | None = None) -> str:
    """``smi_`` + 26 Crockford base32 characters of a ULID (time-sortable)."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    value = (ms & ((1 << 48) - 1)) << 80 | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "smi_" + "".join(reversed(chars))


def new_owner_id() -> str:
    """An id for this process's claim on runs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def owner_is_dead_here(owner: str | None) -> bool:
    """Whether ``owner`` names a process on this host that no longer exists."""
    if not owner:
        return False
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname():
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
