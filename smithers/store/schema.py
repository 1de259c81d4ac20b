"""The internal tables (SQLAlchemy Core) and their ordered migrations.

Names and columns follow the original Smithers so existing tools can read the databases.
Additions of ours: ``_smithers_runs.input_json``, ``updated_at_ms`` and ``wake_at_ms`` (when a
suspended run is due to be woken), and ``_smithers_nodes.extra_attempts`` (attempts granted
by resuming a failed run). ``_smithers_tool_calls`` is the tool-call log of
``agents-and-tools.md`` §3 (schema version 3), ``_smithers_transcripts`` its agents'
conversations (version 4), ``_smithers_output_schemas`` the description of each run's output
types that reads decode typed outputs with, never importing the workflow (version 5; see
``smithers.store.output_schema``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    select,
    update,
)

from smithers.store.urls import redact_config_json

metadata = MetaData()


def _ms(name: str, *, nullable: bool = True) -> Column[int]:
    return Column(name, BigInteger, nullable=nullable)


def node_key() -> list[Column[Any]]:
    """The primary key of a node's rows (nodes, approvals, outputs, per-Struct output tables),
    as new columns for one more table."""
    return [
        Column("run_id", Text, primary_key=True),
        Column("node_id", Text, primary_key=True),
        Column("iteration", Integer, primary_key=True),
    ]


def _attempt_key() -> list[Column[Any]]:
    return [*node_key(), Column("attempt", Integer, primary_key=True)]


runs = Table(
    "_smithers_runs",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("parent_run_id", Text),
    Column("workflow_name", Text, nullable=False),
    Column("workflow_path", Text),
    Column("workflow_hash", Text),
    Column("status", Text, nullable=False),
    _ms("created_at_ms", nullable=False),
    _ms("started_at_ms"),
    _ms("finished_at_ms"),
    _ms("heartbeat_at_ms"),
    Column("runtime_owner_id", Text),
    _ms("cancel_requested_at_ms"),
    _ms("hijack_requested_at_ms"),
    Column("hijack_target", Text),
    Column("vcs_type", Text),
    Column("vcs_root", Text),
    Column("vcs_revision", Text),
    Column("error_json", Text),
    Column("config_json", Text),
    Column("input_json", Text),
    _ms("updated_at_ms"),
    _ms("wake_at_ms"),
    Index("_smithers_runs_status_heartbeat_idx", "status", "heartbeat_at_ms"),
    Index("_smithers_runs_created_idx", "created_at_ms"),
    Index("_smithers_runs_parent_idx", "parent_run_id"),
    Index("_smithers_runs_status_wake_idx", "status", "wake_at_ms"),
)

nodes = Table(
    "_smithers_nodes",
    metadata,
    *node_key(),
    Column("state", Text, nullable=False),
    Column("last_attempt", Integer),
    _ms("updated_at_ms", nullable=False),
    Column("output_table", Text, nullable=False, server_default=""),
    Column("label", Text),
    Column("extra_attempts", Integer, nullable=False, server_default="0"),
)

attempts = Table(
    "_smithers_attempts",
    metadata,
    *_attempt_key(),
    Column("state", Text, nullable=False),
    _ms("started_at_ms", nullable=False),
    _ms("finished_at_ms"),
    _ms("heartbeat_at_ms"),
    Column("heartbeat_data_json", Text),
    Column("error_json", Text),
    Column("cached", Integer, nullable=False, server_default="0"),
    Column("meta_json", Text),
)

frames = Table(
    "_smithers_frames",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("frame_no", Integer, primary_key=True),
    _ms("created_at_ms", nullable=False),
    Column("xml_json", Text, nullable=False),
    Column("xml_hash", Text, nullable=False),
    Column("encoding", Text, nullable=False, server_default="full"),
    Column("mounted_task_ids_json", Text),
    Column("task_index_json", Text),
    Column("note", Text),
)

events = Table(
    "_smithers_events",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("seq", Integer, primary_key=True),
    _ms("timestamp_ms", nullable=False),
    Column("type", Text, nullable=False),
    Column("payload_json", Text, nullable=False),
)

approvals = Table(
    "_smithers_approvals",
    metadata,
    *node_key(),
    Column("status", Text, nullable=False),
    _ms("requested_at_ms"),
    _ms("decided_at_ms"),
    Column("note", Text),
    Column("decided_by", Text),
    Column("request_json", Text),
    Column("decision_json", Text),
    Column("auto_approved", Integer, nullable=False, server_default="0"),
    Index("_smithers_approvals_status_idx", "status", "requested_at_ms"),
)

signals = Table(
    "_smithers_signals",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("signal_name", Text, nullable=False),
    Column("correlation_id", Text),
    Column("payload_json", Text, nullable=False),
    _ms("received_at_ms", nullable=False),
    Column("received_by", Text),
    Index("_smithers_signals_lookup_idx", "run_id", "signal_name", "correlation_id"),
)

loops = Table(  # "ralph" is the original's name for a loop; it stays in the schema only
    "_smithers_ralph",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("ralph_id", Text, primary_key=True),
    Column("iteration", Integer, nullable=False, server_default="0"),
    Column("done", Integer, nullable=False, server_default="0"),
    _ms("updated_at_ms", nullable=False),
)

outputs = Table(
    "_smithers_outputs",
    metadata,
    *node_key(),
    Column("payload_json", Text, nullable=False),
)

tool_calls = Table(
    "_smithers_tool_calls",
    metadata,
    *_attempt_key(),
    Column("call_id", Text, primary_key=True),
    Column("seq", Integer, nullable=False, server_default="0"),  # order of start in the attempt
    Column("tool", Text, nullable=False),
    Column("input_json", Text),
    Column("output_json", Text),
    Column("status", Text, nullable=False),
    Column("error_json", Text),
    _ms("started_at_ms", nullable=False),
    _ms("finished_at_ms"),
)

transcripts = Table(
    "_smithers_transcripts",
    metadata,
    *_attempt_key(),
    Column("turn", Integer, primary_key=True),
    Column("role", Text, nullable=False),
    Column("content_json", Text, nullable=False),
    Column("usage_json", Text),
    _ms("created_at_ms", nullable=False),
)

output_schemas = Table(
    "_smithers_output_schemas",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("schemas_json", Text, nullable=False),
    _ms("updated_at_ms", nullable=False),
)

schema_version = Table(
    "_smithers_schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    _ms("applied_at_ms", nullable=False),
    Column("description", Text, nullable=False),
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One forward step of the internal schema."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _create_internal_tables(conn: Connection) -> None:
    tables = [t for t in metadata.sorted_tables if t is not schema_version]
    metadata.create_all(conn, tables=tables, checkfirst=True)


def _redact_stored_urls(conn: Connection) -> None:
    # Versions before 2 stored a mirrored run's dbUrl with its password; a finished run is
    # never claimed again, so only this rewrites its row.
    query = select(runs.c.run_id, runs.c.config_json).where(runs.c.config_json.like('%"dbUrl"%'))
    for run_id, config_json in conn.execute(query).all():
        redacted = redact_config_json(config_json)
        if redacted != config_json:
            conn.execute(update(runs).where(runs.c.run_id == run_id).values(config_json=redacted))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "internal tables", _create_internal_tables),
    Migration(2, "database URLs in run configs without passwords", _redact_stored_urls),
    Migration(3, "the tool-call log", _create_internal_tables),
    Migration(4, "agent transcripts", _create_internal_tables),
    Migration(5, "output types described for reads", _create_internal_tables),
)
"""Ordered by version; a database records each applied version in _smithers_schema_version."""
