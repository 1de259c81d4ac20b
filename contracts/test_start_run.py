"""§5 ``POST /v1/runs``: start or resume, its field checks in order, and its conflicts."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.deployment import Deployment
from contracts.expect import expect_error, expect_json
from contracts.runs import Runs, new_run_id

GENERATED_ID = re.compile(r"^smi_[0-9a-hjkmnp-tv-z]{26}$")
WORKFLOW_PATH = "workflowPath must be a string"
INPUT = "input must be a JSON object"
MAX_CONCURRENCY = "config.maxConcurrency must be a positive number"
OUTSIDE = ("../" * 40) + "contract-outside-root.py"

Start = Callable[..., httpx.Response]


def nested(depth: int) -> dict[str, Any]:
    """An object nested ``depth`` levels deep (the object itself is level 1)."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.fixture
def start(http: httpx.Client, deployment: Deployment) -> Start:
    """POST a start body; ``workflow`` names a contract workflow unless a path is given."""

    def post(workflow: str | None = "instant", **fields: Any) -> httpx.Response:
        body = dict(fields)
        if workflow is not None:
            body.setdefault("workflowPath", deployment.workflow(workflow))
        return http.post("/v1/runs", json=body)

    return post


@pytest.mark.contract("POST", "/v1/runs", 200)
def test_start_returns_a_generated_id_committed_before_the_answer(
    http: httpx.Client, runs: Runs, start: Start
) -> None:
    body = expect_json(start())
    assert set(body) == {"runId"} and GENERATED_ID.match(body["runId"]), body
    runs.started.append(body["runId"])
    assert http.get(f"/v1/runs/{body['runId']}").status_code == 200  # no race with the start
    assert runs.wait(body["runId"], "finished")["workflowName"] == "contract-instant"


@pytest.mark.contract("POST", "/v1/runs", 200)
def test_start_with_every_field(runs: Runs, start: Start) -> None:
    run_id = new_run_id("fields")
    body = expect_json(
        start(
            runId=run_id,
            input={"k": [1, {"x": None}]},
            config={"maxConcurrency": 2},
            resume=False,
            somethingUnknown={"is": "ignored"},
        )
    )
    assert body == {"runId": run_id}
    runs.started.append(run_id)
    runs.wait(run_id, "finished")


@pytest.mark.contract("POST", "/v1/runs", 400)
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"workflowPath": None}, WORKFLOW_PATH),
        ({"workflowPath": ""}, WORKFLOW_PATH),
        ({"workflowPath": 7}, WORKFLOW_PATH),
        ({"workflowPath": ["a.py"]}, WORKFLOW_PATH),
        ({"input": None}, INPUT),
        ({"input": []}, INPUT),
        ({"input": "text"}, INPUT),
        ({"input": 3}, INPUT),
        ({"config": {"maxConcurrency": 0}}, MAX_CONCURRENCY),
        ({"config": {"maxConcurrency": -2}}, MAX_CONCURRENCY),
        ({"config": {"maxConcurrency": 1.5}}, MAX_CONCURRENCY),
        ({"config": {"maxConcurrency": "2"}}, MAX_CONCURRENCY),
        ({"config": {"maxConcurrency": None}}, MAX_CONCURRENCY),
        ({"config": {"maxConcurrency": True}}, MAX_CONCURRENCY),
    ],
)
def test_field_errors_have_exact_messages(
    start: Start, fields: dict[str, Any], message: str
) -> None:
    expect_error(start(**fields), 400, "INVALID_REQUEST", message)


@pytest.mark.contract("POST", "/v1/runs", 400)
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"config": None}, "config"),
        ({"config": 4}, "config"),
        ({"config": []}, "config"),
        ({"runId": None}, "runId"),
        ({"runId": 12}, "runId"),
        ({"runId": ""}, "runId"),
        ({"runId": "-starts-with-dash"}, "runId"),
        ({"runId": "has space"}, "runId"),
        ({"runId": "slash/inside"}, "runId"),
        ({"runId": "x" * 257}, "runId"),
        ({"resume": None}, "resume"),
        ({"resume": "yes"}, "resume"),
        ({"resume": 1}, "resume"),
    ],
)
def test_field_errors_name_the_field(start: Start, fields: dict[str, Any], field: str) -> None:
    expect_error(start(**fields), 400, "INVALID_REQUEST", mentions=field)


def test_longest_valid_run_id_is_accepted(runs: Runs) -> None:
    run_id = "c" + "x" * 255
    assert runs.start("instant", run_id=run_id) == run_id


@pytest.mark.contract("POST", "/v1/runs", 400)
def test_resume_without_run_id(start: Start) -> None:
    expect_error(start(resume=True), 400, "RUN_ID_REQUIRED")


@pytest.mark.contract("POST", "/v1/runs", 400)
@pytest.mark.parametrize("path", [OUTSIDE, "/contract-outside-root.py", "../contract-outside.py"])
def test_workflow_path_outside_the_root(start: Start, path: str) -> None:
    expect_error(start(None, workflowPath=path), 400, "WORKFLOW_PATH_OUTSIDE_ROOT")


@pytest.mark.contract("POST", "/v1/runs", 400)
def test_symlink_out_of_the_root_is_outside(
    start: Start, deployment: Deployment, tmp_path: Path
) -> None:
    if deployment.root is None:
        pytest.skip("creates a symlink in the server root: local server only")
    outside = tmp_path / "outside.py"
    outside.write_text((Path(__file__).parent / "workflows" / "instant.py").read_text())
    link = deployment.root / "contract-escape.py"
    os.symlink(outside, link)
    try:
        expect_error(
            start(None, workflowPath="contract-escape.py"), 400, "WORKFLOW_PATH_OUTSIDE_ROOT"
        )
    finally:
        link.unlink()


def test_absolute_path_inside_the_root_is_fine(
    runs: Runs, deployment: Deployment, start: Start
) -> None:
    if deployment.root is not None:
        absolute = str(deployment.root / deployment.workflow("instant"))
    elif deployment.workflows_dir.startswith("/"):
        absolute = deployment.workflow("instant")
    else:
        pytest.skip("the deployment's absolute root is unknown")
    runs.started.append(expect_json(start(None, workflowPath=absolute))["runId"])


@pytest.mark.contract("POST", "/v1/runs", 400)
def test_missing_workflow_file(start: Start, deployment: Deployment) -> None:
    given = deployment.workflow("does-not-exist")
    expect_error(
        start(None, workflowPath=given), 400, "INVALID_REQUEST", f"workflow file not found: {given}"
    )


@pytest.mark.contract("POST", "/v1/runs", 400)
def test_a_directory_is_not_a_workflow_file(start: Start, deployment: Deployment) -> None:
    given = deployment.workflows_dir
    expect_error(
        start(None, workflowPath=given), 400, "INVALID_REQUEST", f"workflow file not found: {given}"
    )


@pytest.mark.contract("POST", "/v1/runs", 400)
def test_workflow_that_fails_to_import(start: Start) -> None:
    error = expect_error(start("broken_import"), 400, "WORKFLOW_LOAD_FAILED")
    assert "RuntimeError" in error["message"]
    assert "contract workflow broken on purpose" in error["message"]


@pytest.mark.contract("POST", "/v1/runs", 400)
def test_workflow_file_without_a_workflow(start: Start) -> None:
    expect_error(start("no_workflow"), 400, "WORKFLOW_LOAD_FAILED")


@pytest.mark.contract("POST", "/v1/runs", 400)
def test_input_nested_too_deep(start: Start, runs: Runs) -> None:
    expect_error(start(input=nested(17)), 400, "INVALID_REQUEST", mentions="input")
    runs.started.append(expect_json(start(input=nested(16)))["runId"])


@pytest.mark.contract("POST", "/v1/runs", 400)
def test_input_too_large(start: Start, runs: Runs, max_body_bytes: int) -> None:
    limit = 256 * 1024
    if max_body_bytes < limit + 1024:
        pytest.skip("the body limit is below the input limit")
    expect_error(start(input={"pad": "x" * limit}), 400, "INVALID_REQUEST", mentions="input")
    runs.started.append(expect_json(start(input={"pad": "x" * (limit - 100)}))["runId"])


@pytest.mark.contract("POST", "/v1/runs", 409)
@pytest.mark.parametrize("state", ["finished", "waiting_approval"])
def test_start_with_an_existing_run_id(start: Start, runs: Runs, state: str) -> None:
    run_id = getattr(runs, state)()
    expect_error(start(runId=run_id), 409, "RUN_ALREADY_EXISTS")


@pytest.mark.contract("POST", "/v1/runs", 404)
def test_resume_of_an_unknown_run(start: Start) -> None:
    response = start(runId=new_run_id("missing"), resume=True)
    expect_error(response, 404, "RUN_NOT_FOUND", "Run id does not exist")


@pytest.mark.contract("POST", "/v1/runs", 409)
def test_resume_of_an_active_run(start: Start, runs: Runs) -> None:
    run_id = runs.active()
    expect_error(start("slow", runId=run_id, resume=True), 409, "RUN_IN_PROGRESS")


@pytest.mark.contract("POST", "/v1/runs", 200)
def test_resume_of_a_suspended_run(start: Start, runs: Runs) -> None:
    run_id = runs.waiting_approval()
    assert expect_json(start("approval", runId=run_id, resume=True)) == {"runId": run_id}
    runs.wait(run_id, "waiting-approval")


# --- the order of checks ---------------------------------------------------------------

ORDER = [
    pytest.param(
        {"workflowPath": 1, "input": []}, "INVALID_REQUEST", WORKFLOW_PATH, id="path<input"
    ),
    pytest.param({"input": [], "config": 1}, "INVALID_REQUEST", INPUT, id="input<config"),
    pytest.param(
        {"config": {"maxConcurrency": 0}, "runId": "!"},
        "INVALID_REQUEST",
        MAX_CONCURRENCY,
        id="config<runId",
    ),
    pytest.param({"runId": "!", "resume": "x"}, "INVALID_REQUEST", "runId", id="runId<resume"),
    pytest.param(
        {"resume": "x", "workflowPath": OUTSIDE}, "INVALID_REQUEST", "resume", id="resume<path"
    ),
    pytest.param(
        {"resume": True, "workflowPath": OUTSIDE},
        "RUN_ID_REQUIRED",
        None,
        id="runIdRequired<path",
    ),
]


@pytest.mark.contract("POST", "/v1/runs", 400)
@pytest.mark.parametrize(("fields", "code", "text"), ORDER)
def test_field_checks_in_order(
    start: Start, fields: dict[str, Any], code: str, text: str | None
) -> None:
    error = expect_error(start(**fields), 400, code)
    if text is not None:
        assert text in error["message"], error


def test_path_outside_root_is_checked_before_existence(start: Start) -> None:
    expect_error(
        start(None, workflowPath=OUTSIDE + "/missing.py"), 400, "WORKFLOW_PATH_OUTSIDE_ROOT"
    )


def test_load_failure_before_conflict(start: Start, runs: Runs) -> None:
    run_id = runs.finished()
    expect_error(start("broken_import", runId=run_id), 400, "WORKFLOW_LOAD_FAILED")
    expect_error(
        start("broken_import", runId=new_run_id(), resume=True), 400, "WORKFLOW_LOAD_FAILED"
    )


def test_load_failure_before_input_limits(start: Start) -> None:
    expect_error(start("broken_import", input=nested(17)), 400, "WORKFLOW_LOAD_FAILED")


def test_input_limits_before_conflict(start: Start, runs: Runs) -> None:
    run_id = runs.finished()
    expect_error(start(runId=run_id, input=nested(17)), 400, "INVALID_REQUEST", mentions="input")


@pytest.mark.contract("POST", "/v1/runs", 400)
def test_a_nul_character_in_the_workflow_path(start: Start, deployment: Deployment) -> None:
    given = deployment.workflow("instant") + "\u0000.py"
    expect_error(start(None, workflowPath=given), 400, "INVALID_REQUEST", mentions="workflowPath")


@pytest.mark.contract("POST", "/v1/runs", 400)
@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a" * 300 + ".py", id="component"),
        pytest.param("a/" * 3000 + "x.py", id="path"),
    ],
)
def test_a_name_too_long_for_the_file_system(
    start: Start, deployment: Deployment, name: str
) -> None:
    given = f"{deployment.workflows_dir}/{name}"
    error = expect_error(
        start(None, workflowPath=given), 400, "INVALID_REQUEST", f"workflow file not found: {given}"
    )
    if deployment.root is not None:  # the server's own paths are never shown
        assert str(deployment.root) not in error["message"]


@pytest.mark.contract("POST", "/v1/runs", 400)
@pytest.mark.parametrize("suffix", ["/", "/.", "//"])
def test_a_file_named_as_a_directory_is_not_found(
    start: Start, deployment: Deployment, suffix: str
) -> None:
    given = deployment.workflow("instant") + suffix
    expect_error(
        start(None, workflowPath=given), 400, "INVALID_REQUEST", f"workflow file not found: {given}"
    )
