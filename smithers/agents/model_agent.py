"""What the agents that call a model API directly share: their fields, one model call, and
the attempt (the tool loop of ``smithers.agents.loop``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit, urlunsplit

import msgspec

from smithers import secrets
from smithers.agents.base import Answer
from smithers.agents.conversation import ModelReply, ModelRequest
from smithers.agents.loop import run_agent
from smithers.agents.transport import WireCall, streamed_call
from smithers.tools.tool import Tool

if TYPE_CHECKING:
    from smithers.authoring.context import TaskContext

__all__ = ["ModelAgent", "request_body"]

_encoder = msgspec.json.Encoder()


def request_body(
    body: msgspec.Struct, extra: Mapping[str, object], kept: tuple[str, ...] = ()
) -> bytes:
    """The JSON of a request ``body`` with the ``extra`` fields laid over it — except the
    fields named in ``kept``, which stay the body's where it has them."""
    if not extra:
        return _encoder.encode(body)
    fields: dict[str, object] = msgspec.to_builtins(body)
    merged = {**fields, **extra, **{name: fields[name] for name in kept if name in fields}}
    return _encoder.encode(merged)


@dataclass(frozen=True, slots=True)
class ModelAgent:
    """A model behind an HTTP API; ``OpenAIAgent`` and ``AnthropicAgent`` say which."""

    model: str
    tools: Sequence[Tool[object]] = ()
    system: str | None = None
    base_url: str | None = None
    """The endpoint; ``None``: the provider's ``*_BASE_URL`` variable, else its public one."""
    api_key_env: str = ""
    """The variable the API key is read from, at call time (never stored)."""
    temperature: float | None = None
    max_output_tokens: int | None = None
    max_turns: int = 20
    output_retries: int = 2
    """Corrections asked of the model when its final answer does not fit the output type."""
    max_retries: int = 4
    """Retries of one model call on 429, 5xx, a dropped connection or a cut stream."""
    timeout: float = 600.0
    """Seconds one model call may take, all of it (its retries and their waits included)."""
    extra: dict[str, object] = field(default_factory=dict)
    """More request fields, passed through as they are."""
    name: str = ""

    base_url_env: ClassVar[str] = ""
    default_base_url: ClassVar[str] = ""

    @property
    def endpoint(self) -> str:
        """The base URL in force: given, else from the environment, else the public one."""
        return (self.base_url or os.environ.get(self.base_url_env) or self.default_base_url).rstrip(
            "/"
        )

    def url(self, path: str) -> str:
        """``path`` under the endpoint: after its path, before its query string (an endpoint
        may carry one, such as ``?api-version=…``)."""
        parts = urlsplit(self.endpoint)
        return urlunsplit(parts._replace(path=parts.path.rstrip("/") + path))

    def api_key(self) -> str | None:
        """The key in ``api_key_env`` now (known as a secret from then on), or ``None``."""
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        secrets.register(key)
        return key or None

    def __repr__(self) -> str:
        shown = secrets.safe_url(self.endpoint)  # no userinfo, no query string
        return f"{type(self).__name__}(model={self.model!r}, base_url={shown!r})"

    @property
    def label(self) -> str:
        """``name:model``, as frames and events show the agent."""
        return f"{self.name}:{self.model}"

    def wire_call(self, request: ModelRequest) -> WireCall:
        """The provider's HTTP request of one call (each provider says how)."""
        raise NotImplementedError

    async def complete(self, request: ModelRequest, on_text: Callable[[str], None]) -> ModelReply:
        """One model call (retried as ``max_retries`` allows); ``MODEL_CALL_FAILED`` else."""
        call = self.wire_call(request)
        secrets.register_url(call.url, lone_user=True)  # a key in the endpoint is a secret too
        return await streamed_call(
            name=self.name,
            model=self.model,
            call=call,
            on_text=on_text,
            max_retries=self.max_retries,
            timeout_s=self.timeout,
        )

    async def run(
        self, ctx: TaskContext, prompt: str, output: type[msgspec.Struct] | None
    ) -> Answer:
        """The attempt: the tool loop until the model gives a final answer."""
        return await run_agent(self, ctx, prompt, output)
