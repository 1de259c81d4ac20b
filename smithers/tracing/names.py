"""Every span name and attribute key Smithers sets (docs/observability.md): the only ones."""

from __future__ import annotations

from typing import Final

__all__ = [
    "ATTEMPT",
    "BODY_BYTES",
    "GENAI_INPUT_TOKENS",
    "GENAI_MODEL",
    "GENAI_OPERATION",
    "GENAI_OUTPUT_TOKENS",
    "GENAI_SYSTEM",
    "HTTP_METHOD",
    "HTTP_ROUTE",
    "HTTP_STATUS",
    "ITERATION",
    "NODE_ID",
    "NODE_STATE",
    "RUN_ID",
    "RUN_STATUS",
    "SPAN_BODY",
    "SPAN_RUN",
    "SPAN_TASK",
    "SPAN_TOOL",
    "SPAN_WORKFLOW",
    "TOOL_NAME",
    "TOOL_STATUS",
    "WORKFLOW_CACHED",
    "WORKFLOW_HASH",
    "WORKFLOW_NAME",
    "WORKFLOW_PATH",
]

SPAN_BODY: Final = "smithers.body.parse"
SPAN_WORKFLOW: Final = "smithers.workflow.load"
SPAN_RUN: Final = "smithers.run"
SPAN_TASK: Final = "smithers.task"
SPAN_TOOL: Final = "smithers.tool"
"""Named ``smithers.tool {name}``; a model call is ``chat {model}``, a request
``{METHOD} {route}``."""

RUN_ID: Final = "smithers.run_id"
BODY_BYTES: Final = "smithers.body.bytes"
WORKFLOW_PATH: Final = "smithers.workflow.path"
WORKFLOW_HASH: Final = "smithers.workflow.hash"
WORKFLOW_CACHED: Final = "smithers.workflow.cached"
WORKFLOW_NAME: Final = "smithers.workflow.name"
RUN_STATUS: Final = "smithers.run.status"
NODE_ID: Final = "smithers.node_id"
ITERATION: Final = "smithers.iteration"
ATTEMPT: Final = "smithers.attempt"
NODE_STATE: Final = "smithers.node.state"
TOOL_NAME: Final = "smithers.tool.name"
TOOL_STATUS: Final = "smithers.tool.status"
HTTP_METHOD: Final = "http.request.method"
HTTP_ROUTE: Final = "http.route"
HTTP_STATUS: Final = "http.response.status_code"
GENAI_OPERATION: Final = "gen_ai.operation.name"
GENAI_SYSTEM: Final = "gen_ai.system"
GENAI_MODEL: Final = "gen_ai.request.model"
GENAI_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GENAI_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
