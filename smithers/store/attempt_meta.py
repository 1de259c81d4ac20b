"""What an attempt's ``meta_json`` column holds: one tagged Struct per kind of node.

The ``kind`` key tells them apart; the other keys are camelCase in the column, as they always
were. Every reader goes through ``decode_meta`` so mypy checks each key in one place.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "ApprovalMeta",
    "AttemptMeta",
    "SignalMeta",
    "TaskMeta",
    "TimerMeta",
    "decode_meta",
    "encode_meta",
]


class TaskMeta(msgspec.Struct, tag_field="kind", tag="task", rename="camel", kw_only=True):
    """An attempt of a ``Task``."""

    label: str | None = None


class ApprovalMeta(msgspec.Struct, tag_field="kind", tag="approval", rename="camel"):
    """The attempt an ``Approval`` node records for its decision."""


class TimerMeta(msgspec.Struct, tag_field="kind", tag="timer", rename="camel", kw_only=True):
    """A timer's attempt: when it fires (kept across resumes)."""

    fires_at_ms: int
    timer_type: Literal["absolute", "duration"] = "duration"


class SignalMeta(msgspec.Struct, tag_field="kind", tag="signal", rename="camel", kw_only=True):
    """A signal wait: which signal, after which seq, until when; the seq that resolved it."""

    signal_name: str
    correlation_id: str | None = None
    after_signal_seq: int = -1
    timeout_at_ms: int | None = None
    on_timeout: str = "fail"
    resolved_signal_seq: int | None = None

    def matches(self, name: str, correlation_id: str | None) -> bool:
        """Whether a signal of this name and correlation id is the one this wait is for."""
        return self.signal_name == name and (self.correlation_id or None) == (
            correlation_id or None
        )


AttemptMeta = TaskMeta | ApprovalMeta | TimerMeta | SignalMeta

_decoder = msgspec.json.Decoder(AttemptMeta)
_encoder = msgspec.json.Encoder()


def decode_meta(text: str | None) -> AttemptMeta:
    """The metadata of an attempt row (a ``TaskMeta`` when the column is empty)."""
    if not text:
        return TaskMeta()
    meta: AttemptMeta = _decoder.decode(text)
    return meta


def encode_meta(meta: AttemptMeta) -> str:
    """The ``meta_json`` text of ``meta``."""
    return _encoder.encode(meta).decode()
