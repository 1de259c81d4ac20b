"""A typed Python client for the Smithers HTTP API (sync ``Client``, asyncio ``AsyncClient``).

    from smithers.client import Client

    with Client("http://127.0.0.1:7331", token="secret") as client:
        run_id = client.start_run("examples/hello.py", {"name": "Ada"}).run_id
        for event in client.events(run_id):
            print(event.seq, event.type)

Answers are msgspec Structs (``smithers.client.models``); error statuses raise
``SmithersHTTPError`` subclasses carrying ``status``, ``code``, ``message`` and ``details``.
"""

from smithers.client.async_client import AsyncClient
from smithers.client.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    EventStreamError,
    NotFoundError,
    PayloadTooLargeError,
    ServerError,
    SmithersClientError,
    SmithersHTTPError,
)
from smithers.client.models import (
    Attempt,
    Decision,
    Frame,
    Health,
    Node,
    PendingApproval,
    ResumeResult,
    Run,
    RunCounts,
    RunEvent,
    RunRecord,
    RunRef,
    SignalReceipt,
    ToolCall,
    Turn,
)
from smithers.client.sync_client import Client

__all__ = [
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
