"""What tracing costs: GET /v1/runs/{id} req/s and one-task runs/s, tracing off and on.

Two servers side by side on their own SQLite files: one with tracing off (nothing of
OpenTelemetry imported), one exporting every span over OTLP/HTTP to a sink in this process
(loopback; it reads and drops each export, as a collector's receiver would). Each round
measures both, the order alternating. The figure is "on" as a share of "off".
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench import api
from bench.budget import Budget
from bench.http_load import _measure
from bench.result import Result, Target
from bench.run_throughput import _round, _warm
from bench.servers import Server, smithers_server
from bench.stats import fmt, fmt_summary, summary


@contextmanager
def _otlp_sink() -> Iterator[tuple[str, list[int]]]:
    """An OTLP/HTTP endpoint that answers 200 to every export; the byte counts it got."""
    received: list[int] = []

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(len(self.rfile.read(int(self.headers.get("Content-Length", "0")))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def _get_path(server: Server) -> str:
    run_id = api.start_run(server.url, "one_task.py")
    api.wait_status(server.url, run_id, {"finished", "failed"})
    return f"/v1/runs/{run_id}"


def run(budget: Budget) -> Result:
    result = Result("tracing", "Tracing off vs on: GET /v1/runs/{id} and one-task runs/s")
    workdir = budget.workdir / "tracing"
    workdir.mkdir(parents=True, exist_ok=True)
    with (
        _otlp_sink() as (endpoint, received),
        smithers_server(workdir, workdir / "off.db", name="off") as off,
        smithers_server(
            workdir,
            workdir / "on.db",
            name="on",
            env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "500"},
        ) as on,
    ):
        servers = {"off": off, "on": on}
        paths = {name: _get_path(s) for name, s in servers.items()}
        for server in servers.values():
            _warm(server, budget)
        rounds: list[dict[str, dict[str, float]]] = []
        for index in range(budget.rounds):
            order = ["off", "on"] if index % 2 == 0 else ["on", "off"]
            this: dict[str, dict[str, float]] = {name: {} for name in order}
            for name in order:
                this[name]["get_rps"] = _measure(servers[name].url + paths[name], budget).rps
            for name in order:
                this[name]["runs_per_s"] = _round(servers[name], budget)["runs_per_s"]
            rounds.append(this)
    get_ratio = summary([r["on"]["get_rps"] / r["off"]["get_rps"] for r in rounds])
    run_ratio = summary([r["on"]["runs_per_s"] / r["off"]["runs_per_s"] for r in rounds])
    for label, key, ratio, unit in (
        ("GET /v1/runs/{id}, 32 connections", "get_rps", get_ratio, "req/s"),
        ("one-task runs, 16 connections", "runs_per_s", run_ratio, "runs/s"),
    ):
        result.targets.append(
            Target(
                name=f"tracing on: {label}",
                measured=fmt_summary(summary([r["on"][key] for r in rounds]), 0, unit),
                ceiling=fmt_summary(summary([r["off"][key] for r in rounds]), 0, unit) + " (off)",
                ratio=f"{ratio['median'] * 100:.0f}% [{ratio['min'] * 100:.0f}–"
                f"{ratio['max'] * 100:.0f}%]",
                target="— (the cost, reported)",
                met=None,
            )
        )
    result.headers = ["round", "GET off", "GET on", "runs/s off", "runs/s on"]
    for index, r in enumerate(rounds, 1):
        result.rows.append(
            [
                str(index),
                fmt(r["off"]["get_rps"], 0),
                fmt(r["on"]["get_rps"], 0),
                fmt(r["off"]["runs_per_s"], 0),
                fmt(r["on"]["runs_per_s"], 0),
            ]
        )
    result.notes.append(
        f"The traced server exported {len(received)} OTLP requests, {sum(received)} bytes in "
        "all, to a loopback sink; both servers use one worker."
    )
    result.data = {"rounds": rounds, "get_ratio": get_ratio, "run_ratio": run_ratio}
    return result
