"""Switching tracing on from the environment: the standard ``OTEL_*`` variables.

Tracing is on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``
is set, or ``SMITHERS_OTEL_ENABLED=1``; ``SMITHERS_OTEL_ENABLED=0`` or ``OTEL_SDK_DISABLED=true``
keep it off. Spans go to the OTLP/HTTP exporter, which reads its endpoint, headers, timeout
and compression from ``OTEL_EXPORTER_OTLP_*``; the sampler comes from ``OTEL_TRACES_SAMPLER``,
batching from ``OTEL_BSP_*``, the service name from ``OTEL_SERVICE_NAME`` (``smithers`` when
unset). Every process that serves (each Granian worker) calls ``configure_from_env`` itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from smithers import tracing

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider as SdkProvider

__all__ = [
    "TracingUnavailable",
    "check_environment",
    "check_installed",
    "configure_from_env",
    "correlate_logs",
    "requested",
    "shutdown",
]

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_owned: SdkProvider | None = None
"""The provider ``configure_from_env`` made, shut down by ``shutdown``."""


class TracingUnavailable(RuntimeError):
    """Tracing was asked for, but the ``smithers[otel]`` extra is not installed."""


def requested(environ: Mapping[str, str] | None = None) -> str | None:
    """The variable that asks for tracing, or ``None`` when tracing stays off."""
    env = os.environ if environ is None else environ
    if env.get("SMITHERS_OTEL_ENABLED") == "0":
        return None
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if env.get("SMITHERS_OTEL_ENABLED") == "1":
        return "SMITHERS_OTEL_ENABLED=1"
    for name in _ENDPOINTS:
        if env.get(name):
            return name
    return None


def check_installed(reason: str) -> None:
    """Raise ``TracingUnavailable`` unless the OpenTelemetry SDK and exporter import."""
    try:
        import opentelemetry.exporter.otlp.proto.http.trace_exporter
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError as exc:
        raise TracingUnavailable(
            f"tracing is switched on ({reason}) but OpenTelemetry is not installed "
            f"({exc.name} is missing): pip install 'smithers[otel]'"
        ) from None


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """``TracingUnavailable`` when the environment asks for tracing that cannot be had (for a
    process to fail at start-up, before it serves)."""
    reason = requested(environ)
    if reason is not None:
        check_installed(reason)


def configure_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """Trace to the OTLP/HTTP exporter when the environment asks for it; whether it does."""
    global _owned
    reason = requested(environ)
    if reason is None or tracing.active():
        return tracing.active()
    check_installed(reason)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    env = os.environ if environ is None else environ
    # OTEL_RESOURCE_ATTRIBUTES are read by Resource.create; the service name given wins
    resource = Resource.create(
        {"service.name": env.get("OTEL_SERVICE_NAME") or "smithers", "process.pid": os.getpid()}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _owned = provider
    tracing.enable(provider)
    correlate_logs()
    return True


def shutdown() -> None:
    """Export what is left and stop the provider ``configure_from_env`` made."""
    global _owned
    if _owned is None:
        tracing.flush()
        return
    provider, _owned = _owned, None
    tracing.disable()
    provider.shutdown()


def correlate_logs() -> None:
    """Log records made while a span is current carry its ``trace_id`` and ``span_id``."""
    from opentelemetry import trace

    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "smithers_traced", False):
        return

    def traced_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        return record

    traced_record.smithers_traced = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(traced_record)
