"""The statements that read one run's own rows, shared by the modules that run them: ``Reads``
(one question at a time), ``run_state.load_state`` (all of them in one snapshot), the write
guard (``store.py``) and the command line's views (``inspection.py``)."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select

from smithers.store import schema as s

__all__ = [
    "APPROVALS",
    "ATTEMPTS",
    "LAST_FRAME",
    "LOOPS",
    "MAX_SEQ",
    "MAX_SEQ_OF_EACH_RUN",
    "NODES",
    "OPEN_TOOL_CALLS",
    "RUN",
    "UNTYPED_OUTPUTS",
]

RUN = select(s.runs).where(s.runs.c.run_id == bindparam("run_id"))
NODES = select(s.nodes).where(s.nodes.c.run_id == bindparam("run_id"))
ATTEMPTS = (
    select(s.attempts)
    .where(s.attempts.c.run_id == bindparam("run_id"))
    .order_by(s.attempts.c.node_id, s.attempts.c.iteration, s.attempts.c.attempt)
)
APPROVALS = select(s.approvals).where(s.approvals.c.run_id == bindparam("run_id"))
LOOPS = (
    select(s.loops.c.ralph_id, s.loops.c.iteration, s.loops.c.done)
    .where(s.loops.c.run_id == bindparam("run_id"))
    .order_by(s.loops.c.ralph_id)
)
UNTYPED_OUTPUTS = select(s.outputs).where(s.outputs.c.run_id == bindparam("run_id"))
OPEN_TOOL_CALLS = select(s.tool_calls).where(
    s.tool_calls.c.run_id == bindparam("run_id"), s.tool_calls.c.status == "in-progress"
)
LAST_FRAME = (
    select(s.frames.c.frame_no, s.frames.c.xml_hash, s.frames.c.task_index_json)
    .where(s.frames.c.run_id == bindparam("run_id"))
    .order_by(s.frames.c.frame_no.desc())
    .limit(1)
)
MAX_SEQ = select(func.coalesce(func.max(s.events.c.seq), -1).label("max_seq")).where(
    s.events.c.run_id == bindparam("run_id")
)

MAX_SEQ_OF_EACH_RUN = (
    select(func.coalesce(func.max(s.events.c.seq), -1))
    .where(s.events.c.run_id == s.runs.c.run_id)
    .scalar_subquery()
    .label("max_seq")
)
"""The highest event ``seq`` (-1 when none) of each run row a query selects, as a column."""
