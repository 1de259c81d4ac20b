"""What starting or taking over a run writes, and the checks before it.

``new_run_row`` is the row of a run being created and ``output_schemas_row`` the description
of its workflow's output types that reads decode with (written again whenever a run is taken
over, with the workflow loaded to run it); ``prepare_claim`` reads a run's state and
builds the batch that makes this process its owner (every attempt and tool call left in
progress is ended ``interrupted``; a failed run's failed nodes get one more attempt) with
the compare-and-set expectations that keep a run from being claimed twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import msgspec

from smithers import tracing
from smithers.authoring.loader import LoadedWorkflow, load_workflow
from smithers.authoring.nodes import ApprovalDecision
from smithers.engine import events as ev
from smithers.engine.run_model import RunModel
from smithers.engine.run_options import RunConfig, StartOptions, options_from_config, stored_config
from smithers.engine.tool_log import interrupt_open_calls
from smithers.engine.writes import Change
from smithers.errors import InvalidRequest, RunToResumeNotFound, WorkflowLoadError
from smithers.statuses import FINAL, NodeState, RunStatus
from smithers.store.output_schema import describe_outputs
from smithers.store.outputs import output_table_for
from smithers.store.rows import OutputSchemasRow, RunRow, RunUpdate
from smithers.store.store import Store
from smithers.tools.shell import SandboxMode

__all__ = [
    "Claim",
    "check_output_tables",
    "convert_input",
    "load_stored",
    "new_run_row",
    "output_schemas_row",
    "prepare_claim",
    "run_config",
]


def run_config(
    loaded: LoadedWorkflow, options: StartOptions, sandbox: SandboxMode = "bwrap"
) -> RunConfig:
    """The options of a run resolved against its workflow's defaults."""
    return RunConfig(
        max_concurrency=options.max_concurrency or loaded.workflow.max_concurrency,
        root_dir=options.root_dir or loaded.path.parent,
        allow_network=options.allow_network,
        sandbox=sandbox,
    )


def convert_input(loaded: LoadedWorkflow, raw: dict[str, Any]) -> Any:
    """The run's input as the workflow's input type (``InvalidRequest`` when it does not fit)."""
    try:
        return loaded.workflow.convert_input(raw)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(str(exc)) from exc


async def check_output_tables(store: Store, loaded: LoadedWorkflow) -> None:
    """Existing output tables of the module's Structs must fit them (else WORKFLOW_LOAD_FAILED)."""
    candidates: list[type[msgspec.Struct]] = [*loaded.struct_types, ApprovalDecision]
    for struct_type in candidates:
        if struct_type is loaded.workflow.input_type:
            continue
        try:
            table = output_table_for(struct_type)
        except WorkflowLoadError:
            continue  # not usable as an output type (e.g. a nested helper Struct)
        await store.ensure_output_table(table, create=False)


def load_stored(row: RunRow) -> LoadedWorkflow:
    """The workflow a run was started from, loaded again from its stored path."""
    if not row.workflow_path:
        raise WorkflowLoadError(f"run {row.run_id} has no stored workflow path")
    return load_workflow(Path(row.workflow_path))


def new_run_row(
    run_id: str,
    loaded: LoadedWorkflow,
    *,
    owner: str,
    now: int,
    config_json: str,
    raw_input: dict[str, Any],
) -> RunRow:
    """The ``_smithers_runs`` row of a run this process creates and executes."""
    return RunRow(
        run_id=run_id,
        workflow_name=loaded.workflow.name,
        workflow_path=str(loaded.path),
        workflow_hash=loaded.hash,
        status=RunStatus.RUNNING.value,
        created_at_ms=now,
        started_at_ms=now,
        heartbeat_at_ms=now,
        runtime_owner_id=owner,
        config_json=config_json,
        input_json=msgspec.json.encode(raw_input).decode(),
        updated_at_ms=now,
    )


def output_schemas_row(
    run_id: str, loaded: LoadedWorkflow, now: int, *, fresh: bool = False
) -> OutputSchemasRow | None:
    """The ``_smithers_output_schemas`` row of a run about to execute ``loaded``: what reads
    decode its typed outputs with, so that none imports the workflow file (``None`` for a
    ``fresh`` run of a workflow without Structs: nothing to describe, nothing to replace)."""
    if fresh and not loaded.struct_types:
        return None
    schemas = describe_outputs(loaded.struct_types)
    return OutputSchemasRow(run_id=run_id, schemas_json=schemas, updated_at_ms=now)


@dataclass(slots=True)
class Claim:
    """A prepared take-over: the write, what it expects, and what the loop starts from."""

    change: Change
    expect: dict[str, Any]
    expect_max_seq: int
    model: RunModel
    input_value: Any
    config: RunConfig
    traceparent: str | None = None
    """The trace the claimed execution continues (``None`` while tracing is off)."""


async def prepare_claim(
    store: Store,
    row: RunRow,
    loaded: LoadedWorkflow,
    options: StartOptions | None,
    *,
    owner: str,
    clock: Callable[[], int],
    sandbox: SandboxMode = "bwrap",
) -> Claim:
    """The write that makes ``owner`` execute ``row``; it expects the status read in ``row``,
    so a run that ended meanwhile (finished in another process) is never re-entered. A run
    without a trace context (started untraced) gets one in the same write, while tracing is on."""
    assert row.status not in FINAL, "a finished run is never claimed"
    raw_input = msgspec.json.decode(row.input_json) if row.input_json else {}
    input_value = convert_input(loaded, raw_input)
    await check_output_tables(store, loaded)
    state = await store.reads.load_state(row.run_id)
    if state is None:
        raise RunToResumeNotFound(row.run_id)
    model = RunModel.from_state(state, (*loaded.struct_types, ApprovalDecision))
    now = clock()
    stored_options = options_from_config(row.config_json)
    if options is not None and options.max_concurrency is not None:
        stored_options = replace(stored_options, max_concurrency=options.max_concurrency)
    if stored_options.traceparent is None:
        stored_options = replace(stored_options, traceparent=tracing.new_trace_context())
    config = run_config(loaded, stored_options, sandbox)
    change = Change(model, now)
    interrupt_open_calls(change, state.open_tool_calls)
    change.stop_attempts("interrupted", node_state=NodeState.PENDING)
    if row.status == RunStatus.FAILED:
        for info in model.nodes.values():
            if info.state == NodeState.FAILED:
                info.extra_attempts += 1
                change.set_node(info, NodeState.FAILED)
    change.batch.write(
        RunUpdate(
            run_id=row.run_id,
            status=RunStatus.RUNNING.value,
            runtime_owner_id=owner,
            heartbeat_at_ms=now,
            started_at_ms=row.started_at_ms or now,
            finished_at_ms=None,
            error_json=None,
            cancel_requested_at_ms=None,
            wake_at_ms=None,
            updated_at_ms=now,
            workflow_name=loaded.workflow.name,
            workflow_path=str(loaded.path),
            workflow_hash=loaded.hash,
            config_json=stored_config(stored_options, config),
        )
    )
    schemas = output_schemas_row(row.run_id, loaded, now)
    if schemas is not None:
        change.batch.write(schemas)
    change.emit(ev.RunStarted(run_id=row.run_id, timestamp_ms=now))
    expect = {
        "status": row.status,
        "runtime_owner_id": row.runtime_owner_id,
        "heartbeat_at_ms": row.heartbeat_at_ms,
        "wake_at_ms": row.wake_at_ms,
    }
    return Claim(
        change, expect, state.max_seq, model, input_value, config, stored_options.traceparent
    )
