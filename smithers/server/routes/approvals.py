"""The pending approvals listing and its aliases."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get

from smithers.server.context import context_of
from smithers.server.http.docs import documented
from smithers.server.http.wire import ApprovalList, ApprovalView
from smithers.statuses import TERMINAL

__all__ = ["APPROVAL_ROUTES"]

APPROVAL_PATHS = ["/v1/approvals", "/v1/approval/list", "/approval/list", "/approvals"]


@get(APPROVAL_PATHS, responses=documented(400), summary="Pending approvals")
async def list_approvals(request: Request[Any, Any, Any]) -> ApprovalList:
    """Every approval still waiting for a decision, oldest first."""
    ctx = context_of(request)
    store = ctx.require_db()
    now = ctx.scheduler.clock()
    items: list[ApprovalView] = []
    for row in await store.reads.pending_approvals():
        if row["run_status"] in TERMINAL:
            continue  # a cancelled or failed run's request is no longer waiting
        request_data: dict[str, Any] = {}
        if row["request_json"]:
            decoded = msgspec.json.decode(row["request_json"])
            request_data = decoded if isinstance(decoded, dict) else {}
        label = row["label"] or row["node_id"]
        requested = row["requested_at_ms"]
        items.append(
            ApprovalView(
                run_id=row["run_id"],
                node_id=row["node_id"],
                iteration=row["iteration"],
                workflow_name=row["workflow_name"] or "workflow",
                run_status=row["run_status"],
                label=label,
                request_title=request_data.get("title") or label,
                request_summary=request_data.get("summary"),
                requested_at_ms=requested,
                waiting_ms=max(0, now - requested) if requested is not None else 0,
                note=row["note"],
                decided_by=row["decided_by"],
            )
        )
    return ApprovalList(approvals=items)


APPROVAL_ROUTES = [list_approvals]
