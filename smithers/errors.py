"""Every error Smithers raises, each with a stable ``code``.

    SmithersError                      SMITHERS_ERROR
    ├── InvalidRequest                 INVALID_REQUEST
    │   ├── InvalidJson                INVALID_JSON
    │   ├── RunIdRequired              RUN_ID_REQUIRED
    │   ├── WorkflowPathOutsideRoot    WORKFLOW_PATH_OUTSIDE_ROOT
    │   └── DbNotConfigured            DB_NOT_CONFIGURED
    ├── WorkflowLoadError              WORKFLOW_LOAD_FAILED
    ├── RunNotFound                    NOT_FOUND (a read of an unknown run)
    │   ├── RunToResumeNotFound        RUN_NOT_FOUND (a resume of an unknown run)
    │   └── ServedRunNotFound          RUN_NOT_FOUND (serve mode: the one run is unknown)
    ├── RunConflict
    │   ├── RunAlreadyExists           RUN_ALREADY_EXISTS
    │   ├── RunInProgress              RUN_IN_PROGRESS
    │   ├── RunNotActive               RUN_NOT_ACTIVE
    │   └── ApprovalNotPending         APPROVAL_NOT_PENDING
    ├── PayloadTooLarge                PAYLOAD_TOO_LARGE
    ├── BodyReadTimeout                REQUEST_TIMEOUT
    └── TaskError                      (errors that fail a node or a run)
        ├── MissingOutput              MISSING_OUTPUT
        ├── InvalidOutput              INVALID_OUTPUT
        ├── TaskTimeout                TASK_TIMEOUT
        ├── DuplicateId                DUPLICATE_ID
        ├── ApprovalDenied             APPROVAL_DENIED
        ├── LoopMaxReached             LOOP_MAX_REACHED
        ├── InvalidWorkflow            INVALID_WORKFLOW
        └── ToolError                  (a tool call was refused or failed)
            ├── PathOutsideRoot        PATH_OUTSIDE_ROOT
            ├── PathProtected          PATH_PROTECTED
            ├── ToolTimeout            TOOL_TIMEOUT
            ├── SandboxUnavailable     SANDBOX_UNAVAILABLE
            ├── InvalidToolInput       INVALID_TOOL_INPUT
            ├── ToolFailed             TOOL_FAILED
            └── ToolInterrupted        TOOL_INTERRUPTED
        └── AgentError                 (an agent task could not complete)
            ├── ModelCallFailed        MODEL_CALL_FAILED
            └── AgentMaxTurns          AGENT_MAX_TURNS

    OwnershipLost (BaseException)      another process claimed the run; stop writing

The class docstring is the default message (for errors the HTTP contract words exactly, that
wording, without a final period). HTTP status codes are assigned once, at the edge, in
``smithers.server.http.errors``.
"""

from __future__ import annotations

from typing import Any

from smithers.secrets import redact

__all__ = [
    "AgentError",
    "AgentMaxTurns",
    "ApprovalDenied",
    "ApprovalNotPending",
    "BodyReadTimeout",
    "DbNotConfigured",
    "DuplicateId",
    "InvalidJson",
    "InvalidOutput",
    "InvalidRequest",
    "InvalidToolInput",
    "InvalidWorkflow",
    "LoopMaxReached",
    "MissingOutput",
    "ModelCallFailed",
    "OwnershipLost",
    "PathOutsideRoot",
    "PathProtected",
    "PayloadTooLarge",
    "RunAlreadyExists",
    "RunConflict",
    "RunIdRequired",
    "RunInProgress",
    "RunNotActive",
    "RunNotFound",
    "RunToResumeNotFound",
    "SandboxUnavailable",
    "ServedRunNotFound",
    "SmithersError",
    "TaskError",
    "TaskTimeout",
    "ToolError",
    "ToolFailed",
    "ToolInterrupted",
    "ToolTimeout",
    "WorkflowLoadError",
    "WorkflowPathOutsideRoot",
]


class SmithersError(Exception):
    """Smithers failed."""

    code = "SMITHERS_ERROR"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.message = message if message is not None else (type(self).__doc__ or "").strip()
        if code is not None:
            self.code = code
        self.details = details
        super().__init__(self.message)

    def to_json(self) -> dict[str, Any]:
        """The ``{name, message, code}`` object stored with failed nodes and runs (the
        message without the secrets the process knows: ``smithers.secrets``)."""
        return {"name": type(self).__name__, "message": redact(self.message), "code": self.code}


class InvalidRequest(SmithersError):
    """The request is malformed"""

    code = "INVALID_REQUEST"


class InvalidJson(InvalidRequest):
    """Request body must be valid JSON"""

    code = "INVALID_JSON"


class RunIdRequired(InvalidRequest):
    """runId is required when resume is true"""

    code = "RUN_ID_REQUIRED"


class WorkflowPathOutsideRoot(InvalidRequest):
    """Workflow path must be within server root directory"""

    code = "WORKFLOW_PATH_OUTSIDE_ROOT"


class DbNotConfigured(InvalidRequest):
    """Server DB not configured"""

    code = "DB_NOT_CONFIGURED"


class WorkflowLoadError(SmithersError):
    """The workflow file could not be loaded."""

    code = "WORKFLOW_LOAD_FAILED"


class RunNotFound(SmithersError):
    """Run not found"""

    code = "NOT_FOUND"

    def __init__(self, run_id: str, message: str | None = None) -> None:
        self.run_id = run_id
        super().__init__(message)


class RunToResumeNotFound(RunNotFound):
    """Run id does not exist"""

    code = "RUN_NOT_FOUND"


class ServedRunNotFound(RunNotFound):
    """Run not found"""

    code = "RUN_NOT_FOUND"


class RunConflict(SmithersError):
    """The run is in a state that does not allow this."""


class RunAlreadyExists(RunConflict):
    """Run id already exists"""

    code = "RUN_ALREADY_EXISTS"


class RunInProgress(RunConflict):
    """Run is already in progress"""

    code = "RUN_IN_PROGRESS"


class RunNotActive(RunConflict):
    """Run is not currently active"""

    code = "RUN_NOT_ACTIVE"


class ApprovalNotPending(RunConflict):
    """The node is not waiting for approval"""

    code = "APPROVAL_NOT_PENDING"


class PayloadTooLarge(SmithersError):
    """Request body is too large"""

    code = "PAYLOAD_TOO_LARGE"

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        super().__init__(f"Request body exceeds {max_bytes} bytes", details={"maxBytes": max_bytes})


class BodyReadTimeout(SmithersError):
    """The request body did not arrive in time"""

    code = "REQUEST_TIMEOUT"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(
            f"Request body not received within {seconds:g} s", details={"timeoutSeconds": seconds}
        )


class TaskError(SmithersError):
    """A node or a run failed."""


class MissingOutput(TaskError):
    """The requested output does not exist."""

    code = "MISSING_OUTPUT"


class InvalidOutput(TaskError):
    """The task's result does not match its output type."""

    code = "INVALID_OUTPUT"


class TaskTimeout(TaskError):
    """The task exceeded its timeout."""

    code = "TASK_TIMEOUT"


class DuplicateId(TaskError):
    """Two nodes of one render share an id."""

    code = "DUPLICATE_ID"


class ApprovalDenied(TaskError):
    """The approval was denied."""

    code = "APPROVAL_DENIED"


class LoopMaxReached(TaskError):
    """A loop reached max_iterations without its condition becoming true."""

    code = "LOOP_MAX_REACHED"


class InvalidWorkflow(TaskError):
    """The workflow's build function returned something that is not a valid tree."""

    code = "INVALID_WORKFLOW"


class ToolError(TaskError):
    """A tool call was refused or failed."""

    code = "TOOL_ERROR"


class PathOutsideRoot(ToolError):
    """The path lies outside the run's root."""

    code = "PATH_OUTSIDE_ROOT"


class PathProtected(ToolError):
    """The path is one the server trusts (a database, code it runs, its Python environment):
    no tool may see or change it (``smithers.tools.policy``)."""

    code = "PATH_PROTECTED"


class ToolTimeout(ToolError):
    """The tool call exceeded its timeout."""

    code = "TOOL_TIMEOUT"


class SandboxUnavailable(ToolError):
    """The sandbox for the bash tool cannot be created on this machine."""

    code = "SANDBOX_UNAVAILABLE"


class InvalidToolInput(ToolError):
    """The tool's arguments are not valid."""

    code = "INVALID_TOOL_INPUT"


class OwnershipLost(BaseException):
    """Another process owns the run now; this process must stop writing for it.

    A ``BaseException`` so that user code's ``except Exception`` cannot swallow it.
    """

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"lost ownership of run {run_id}")


class ToolFailed(ToolError):
    """A user-defined tool raised an error."""

    code = "TOOL_FAILED"


class ToolInterrupted(ToolError):
    """The tool call was cancelled, or its process ended before it finished."""

    code = "TOOL_INTERRUPTED"


class AgentError(TaskError):
    """An agent task could not complete."""

    code = "AGENT_ERROR"


class ModelCallFailed(AgentError):
    """The model call failed (the provider's answer, after the retries it allows)."""

    code = "MODEL_CALL_FAILED"


class AgentMaxTurns(AgentError):
    """The agent used all its turns without a final answer."""

    code = "AGENT_MAX_TURNS"
