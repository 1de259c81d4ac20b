"""``Client`` against a real server: one method per route, typed answers, typed errors."""

from __future__ import annotations

import uuid

import pytest

from contracts.deployment import Deployment
from smithers.client import (
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    Decision,
    Frame,
    Health,
    Node,
    NotFoundError,
    PayloadTooLargeError,
    PendingApproval,
    ResumeResult,
    Run,
    RunCounts,
    RunRecord,
    RunRef,
    SignalReceipt,
    ToolCall,
)
from tests.client.waiting import wait_for


def test_health_and_metrics(client: Client) -> None:
    assert client.health() == Health(ok=True)
    assert "smithers_http_requests_total" in client.metrics()


def test_start_get_list_and_frames(client: Client, server: Deployment) -> None:
    ref = client.start_run(server.workflow("instant"), {"who": "client"})
    assert isinstance(ref, RunRef) and ref.run_id.startswith("smi_")
    run = wait_for(client, ref.run_id, "finished")
    assert isinstance(run, Run) and run.workflow_name == "contract-instant"
    assert run.summary == {"finished": 2} and run.error is None

    listed = client.list_runs(limit=1000, status="finished")
    assert all(isinstance(r, RunRecord) and r.status == "finished" for r in listed)
    assert ref.run_id in {r.run_id for r in listed}
    assert len(client.list_runs(limit=1)) == 1

    newest_first = client.list_frames(ref.run_id)
    assert newest_first and all(isinstance(f, Frame) for f in newest_first)
    assert [f.frame_no for f in newest_first] == sorted(
        (f.frame_no for f in newest_first), reverse=True
    )
    oldest = min(f.frame_no for f in newest_first)
    forward = client.list_frames(ref.run_id, after_frame_no=oldest - 1, limit=1000)
    assert [f.frame_no for f in forward] == sorted(f.frame_no for f in newest_first)
    assert client.list_frames(ref.run_id, limit=1) == newest_first[:1]


def test_start_with_options_and_ids_that_need_quoting(client: Client, server: Deployment) -> None:
    run_id = f"client:{uuid.uuid4().hex[:8]}.x"
    ref = client.start_run(server.workflow("instant"), run_id=run_id, max_concurrency=1)
    assert ref.run_id == run_id
    assert wait_for(client, run_id, "finished").run_id == run_id


def test_approve_and_the_approvals_list(client: Client, server: Deployment) -> None:
    run_id = client.start_run(server.workflow("approval")).run_id
    wait_for(client, run_id, "waiting-approval")
    pending = [a for a in client.list_approvals() if a.run_id == run_id]
    assert len(pending) == 1 and isinstance(pending[0], PendingApproval)
    assert pending[0].node_id == "gate" and pending[0].request_title == "Ship it?"

    decision = client.approve(run_id, "gate", note="ok", decided_by="tests")
    assert decision == Decision(run_id=run_id, node_id="gate", iteration=0, status="approved")
    assert client.approve(run_id, "gate") == decision  # the same decision again is fine
    with pytest.raises(ConflictError) as caught:
        client.deny(run_id, "gate")
    assert caught.value.status == 409 and caught.value.code == "APPROVAL_NOT_PENDING"
    wait_for(client, run_id, "finished")


def test_deny(client: Client, server: Deployment) -> None:
    run_id = client.start_run(server.workflow("approval")).run_id
    wait_for(client, run_id, "waiting-approval")
    assert client.deny(run_id, "gate", iteration=0).status == "denied"
    wait_for(client, run_id, "finished")


def test_signal(client: Client, server: Deployment) -> None:
    run_id = client.start_run(server.workflow("signal")).run_id
    wait_for(client, run_id, "waiting-event")
    receipt = client.signal(run_id, " go ", {"answer": 42}, received_by="tests")
    assert isinstance(receipt, SignalReceipt)
    assert receipt.delivered and receipt.signal_name == "go" and receipt.correlation_id is None
    wait_for(client, run_id, "finished")
    late = client.signal(run_id, "go", None, correlation_id="c-1")
    assert not late.delivered and late.correlation_id == "c-1" and late.seq > receipt.seq


def test_cancel_and_resume(client: Client, server: Deployment) -> None:
    run_id = client.start_run(server.workflow("slow"), {"seconds": 60}).run_id
    wait_for(client, run_id, "running")
    assert client.resume_run(run_id) == ResumeResult(run_id=run_id, status="running")
    assert client.cancel_run(run_id) == RunRef(run_id=run_id)
    wait_for(client, run_id, "cancelled")
    with pytest.raises(ConflictError) as caught:
        client.cancel_run(run_id)
    error = caught.value
    assert (error.status, error.code) == (409, "RUN_NOT_ACTIVE")
    assert error.message == "Run is not currently active" and error.details is None


def test_resume_of_a_suspended_run(client: Client, server: Deployment) -> None:
    run_id = client.start_run(server.workflow("approval")).run_id
    wait_for(client, run_id, "waiting-approval")
    assert client.resume_run(run_id, workflow_path=server.workflow("approval")) == ResumeResult(
        run_id=run_id
    )
    client.cancel_run(run_id)


def test_errors_are_typed(client: Client, server: Deployment) -> None:
    with pytest.raises(NotFoundError) as missing:
        client.get_run("client-no-such-run")
    assert (missing.value.status, missing.value.code) == (404, "NOT_FOUND")
    with pytest.raises(NotFoundError) as resume_missing:
        client.start_run(server.workflow("instant"), run_id="client-nope", resume=True)
    assert resume_missing.value.code == "RUN_NOT_FOUND"
    with pytest.raises(BadRequestError) as bad:
        client.list_frames("client-no-such-run", limit=0)
    assert bad.value.message == 'Expected a positive integer, got "0"'
    with pytest.raises(BadRequestError) as load:
        client.start_run(server.workflow("broken_import"))
    assert load.value.code == "WORKFLOW_LOAD_FAILED"
    with pytest.raises(PayloadTooLargeError) as large:
        client.start_run(server.workflow("instant"), {"pad": "x" * (2 << 20)})
    assert large.value.details == {"maxBytes": 1048576}


def test_wrong_token(server: Deployment) -> None:
    with Client(server.base_url, token="wrong") as client:
        assert client.health().ok  # /health needs no token
        with pytest.raises(AuthenticationError) as caught:
            client.list_runs()
    assert caught.value.status == 401 and caught.value.code == "UNAUTHORIZED"


def test_run_details_pages_and_counts(client: Client, server: Deployment) -> None:
    tooled = client.start_run(server.workflow("tooling"), {"from": "client"}).run_id
    wait_for(client, tooled, "finished")
    [node] = client.list_nodes(tooled)
    assert isinstance(node, Node) and node.node_id == "calculate" and node.output == {"sum": 5}
    assert [a.state for a in node.attempts] == ["finished"]
    [call] = client.list_tool_calls(tooled)
    assert isinstance(call, ToolCall) and (call.tool, call.input, call.output) == (
        "add",
        {"a": 2, "b": 3},
        5,
    )
    assert client.run_input(tooled) == {"from": "client"}
    assert client.transcript(tooled) == []
    counts = client.run_counts(workflow="contract-tooling")
    assert isinstance(counts, RunCounts) and counts.total == sum(counts.by_status.values()) >= 1
    first = client.list_runs(limit=1, workflow="contract-tooling")
    older = client.list_runs(limit=1000, workflow="contract-tooling", before=first[0])
    assert first[0].run_id not in {r.run_id for r in older}
    assert len(first) + len(older) == counts.total
    with pytest.raises(NotFoundError):
        client.list_nodes("contract-no-such-run")
