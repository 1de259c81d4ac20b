"""Every Prometheus collector of Smithers, defined once.

With several server processes, ``PROMETHEUS_MULTIPROC_DIR`` must be set before this module is
imported; the exposition then aggregates every process (gauges sum live processes).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

if TYPE_CHECKING:  # an annotation only: importing the store would load SQLAlchemy for tools
    from smithers.store.batch import StoredEvent

__all__ = ["CONTENT_TYPE", "record_request", "render_metrics", "track_events"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
_LIVE: Final = "livesum"

_MS_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000)

http_requests = Counter(
    "smithers_http_requests", "HTTP requests answered", ["method", "route", "status_code"]
)
http_request_duration_ms = Histogram(
    "smithers_http_request_duration_ms",
    "HTTP request handling time in milliseconds",
    ["method", "route"],
    buckets=_MS_BUCKETS,
)
runs_started = Counter("smithers_runs", "Runs started or resumed (each entry into the run loop)")
runs_finished = Counter("smithers_runs_finished", "Runs that finished")
runs_failed = Counter("smithers_runs_failed", "Runs that failed")
runs_cancelled = Counter("smithers_runs_cancelled", "Runs that were cancelled")
runs_resumed = Counter("smithers_runs_resumed", "Runs resumed or claimed by this process")
runs_active = Gauge(
    "smithers_runs_active", "Runs this process executes now", multiprocess_mode=_LIVE
)
nodes_started = Counter("smithers_nodes_started", "Node attempts started")
nodes_finished = Counter("smithers_nodes_finished", "Node attempts finished")
nodes_failed = Counter("smithers_nodes_failed", "Node attempts failed")
node_retries = Counter("smithers_node_retries", "Node retries scheduled")
nodes_active = Gauge(
    "smithers_nodes_active", "Node attempts executing now", multiprocess_mode=_LIVE
)
approvals_requested = Counter("smithers_approvals_requested", "Approvals requested")
approvals_granted = Counter("smithers_approvals_granted", "Approvals granted")
approvals_denied = Counter("smithers_approvals_denied", "Approvals denied")
approval_pending = Gauge(
    "smithers_approval_pending",
    "Approvals waiting for a decision (counted in the database at each scrape)",
    multiprocess_mode="livemostrecent",  # the scraped process's fresh count, not a sum
)
events_emitted = Counter("smithers_events_emitted", "Events committed")
run_duration_ms = Histogram(
    "smithers_run_duration_ms", "Time from a run's start to its end", buckets=_MS_BUCKETS
)
node_duration_ms = Histogram(
    "smithers_node_duration_ms", "Time from an attempt's start to its end", buckets=_MS_BUCKETS
)
tool_calls = Counter("smithers_tool_calls", "Tool calls that ended", ["tool", "status"])
tool_duration_ms = Histogram(
    "smithers_tool_duration_ms", "Tool call duration in milliseconds", ["tool"], buckets=_MS_BUCKETS
)
agent_calls = Counter("smithers_agent_calls", "Model calls of agents", ["agent", "model", "status"])
agent_call_duration_ms = Histogram(
    "smithers_agent_call_duration_ms",
    "Model call duration in milliseconds",
    ["agent", "model"],
    buckets=_MS_BUCKETS,
)
tokens_input = Counter("smithers_tokens_input", "Input tokens (not from cache)", ["agent", "model"])
tokens_output = Counter("smithers_tokens_output", "Output tokens", ["agent", "model"])
tokens_cache_read = Counter("smithers_tokens_cache_read", "Cached input tokens", ["agent", "model"])
tokens_cache_write = Counter(
    "smithers_tokens_cache_write", "Input tokens written to the cache", ["agent", "model"]
)
tokens_reasoning = Counter("smithers_tokens_reasoning", "Reasoning tokens", ["agent", "model"])
sse_subscribers = Gauge("smithers_sse_subscribers", "Open event streams", multiprocess_mode=_LIVE)

_COUNTERS = {
    "RunStarted": (runs_started,),
    "RunFinished": (runs_finished,),
    "RunFailed": (runs_failed,),
    "RunCancelled": (runs_cancelled,),
    "NodeStarted": (nodes_started,),
    "NodeFinished": (nodes_finished,),
    "NodeFailed": (nodes_failed,),
    "NodeRetrying": (node_retries,),
    "ApprovalRequested": (approvals_requested,),
    "ApprovalGranted": (approvals_granted,),
    "ApprovalDenied": (approvals_denied,),
}


_http_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def record_request(method: str, route: str, status: int, elapsed_ms: float) -> None:
    """Count an answered request and its duration (label children looked up once)."""
    key = (method, route, str(status))
    children = _http_children.get(key)
    if children is None:
        children = _http_children[key] = (
            http_requests.labels(method, route, key[2]),
            http_request_duration_ms.labels(method, route),
        )
    children[0].inc()
    children[1].observe(elapsed_ms)


def track_events(run_id: str, events: list[StoredEvent]) -> None:
    """Count committed events (a store listener)."""
    events_emitted.inc(len(events))
    for event in events:
        for counter in _COUNTERS.get(event.type, ()):
            counter.inc()


def count_tokens(agent: str, model: str, usage: dict[str, int]) -> None:
    """Count the tokens of one model call."""
    tokens_input.labels(agent, model).inc(usage.get("input_tokens", 0))
    tokens_output.labels(agent, model).inc(usage.get("output_tokens", 0))
    tokens_cache_read.labels(agent, model).inc(usage.get("cache_read_tokens", 0))
    tokens_cache_write.labels(agent, model).inc(usage.get("cache_write_tokens", 0))
    tokens_reasoning.labels(agent, model).inc(usage.get("reasoning_tokens", 0))


def render_metrics() -> bytes:
    """The Prometheus text exposition (all processes in multiprocess mode)."""
    if _MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


assert CONTENT_TYPE.startswith(CONTENT_TYPE_LATEST.split(";")[0])
