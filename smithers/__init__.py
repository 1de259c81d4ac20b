"""Smithers: durable workflows for AI agents and automation.

This module is the public authoring API; everything else is reached through its submodules.
"""

from smithers.authoring.context import Context, TaskContext
from smithers.authoring.nodes import (
    UNSET,
    Approval,
    ApprovalDecision,
    Branch,
    Loop,
    Node,
    Parallel,
    Sequence,
    Signal,
    Task,
    Timer,
)
from smithers.authoring.workflow import Workflow, workflow
from smithers.errors import SmithersError

__version__ = "0.1.0"

__all__ = [
    "UNSET",
    "Approval",
    "ApprovalDecision",
    "Branch",
    "Context",
    "Loop",
    "Node",
    "Parallel",
    "Sequence",
    "Signal",
    "SmithersError",
    "Task",
    "TaskContext",
    "Timer",
    "Workflow",
    "__version__",
    "workflow",
]
