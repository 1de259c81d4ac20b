"""The client's public names: one door, pinned."""

from __future__ import annotations

import subprocess
import sys

import smithers.client


def test_public_names() -> None:
    assert smithers.client.__all__ == [
        "AsyncClient",
        "Attempt",
        "AuthenticationError",
        "BadRequestError",
        "Client",
        "ConflictError",
        "Decision",
        "EventStreamError",
        "Frame",
        "Health",
        "Node",
        "NotFoundError",
        "PayloadTooLargeError",
        "PendingApproval",
        "ResumeResult",
        "Run",
        "RunCounts",
        "RunEvent",
        "RunRecord",
        "RunRef",
        "ServerError",
        "SignalReceipt",
        "SmithersClientError",
        "SmithersHTTPError",
        "ToolCall",
        "Turn",
    ]
    assert all(hasattr(smithers.client, name) for name in smithers.client.__all__)


def test_importing_the_client_leaves_the_server_out() -> None:
    probe = "import sys, smithers.client; print(sorted(m for m in ('litestar', 'smithers.server', 'smithers.engine', 'sqlalchemy') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
