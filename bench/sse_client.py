"""SSE subscribers in their own process: N raw-socket streams of one run, timed on arrival.

One epoll loop reads every socket (no asyncio): the client's own cost per arrival is a few
microseconds, so the measured delay is mostly the server's.

    python -m bench.sse_client --host H --port P --subs N

Protocol on stdio: prints ``STARTED``; reads a run id line; opens N streams of
``/v1/runs/{id}/events``; prints ``SUBSCRIBED <wall ms>`` once every stream has its
``retry`` line; reads until every stream closes; prints one JSON line. While streaming it
only stores (arrival time, bytes); parsing happens afterwards so it costs no CPU meanwhile.
Delay = arrival wall clock − the event's ``timestampMs``, for events stamped after every
stream was subscribed.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.stats import percentile

Piece = tuple[float, bytes]


def _open(host: str, port: int, run_id: str) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=30)
    sock.sendall(
        f"GET /v1/runs/{run_id}/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Accept: text/event-stream\r\nConnection: close\r\n\r\n".encode()
    )
    sock.setblocking(False)
    return sock


def _stream_all(
    socks: list[socket.socket], timeout: float, on_subscribed: Callable[[], None]
) -> list[list[Piece]]:
    """Read every socket until it closes (one epoll loop, no asyncio: a few us per read)."""
    poller = select.epoll()
    by_fd = {sock.fileno(): i for i, sock in enumerate(socks)}
    pieces: list[list[Piece]] = [[] for _ in socks]
    waiting_retry = set(by_fd)
    for fd in by_fd:
        poller.register(fd, select.EPOLLIN)
    open_fds = len(by_fd)
    deadline = time.monotonic() + timeout
    try:
        while open_fds:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{open_fds} streams still open after {timeout} s")
            for fd, _ in poller.poll(1.0):
                i = by_fd[fd]
                data = socks[i].recv(65536)
                arrived = time.time()
                if not data:
                    poller.unregister(fd)
                    socks[i].close()
                    open_fds -= 1
                    if fd in waiting_retry:
                        raise ConnectionError("stream closed before its retry line")
                    continue
                pieces[i].append((arrived, data))
                if fd in waiting_retry and b"retry:" in b"".join(p for _, p in pieces[i]):
                    waiting_retry.discard(fd)
                    if not waiting_retry:
                        on_subscribed()
    finally:
        poller.close()
    return pieces


def _dechunk(body: bytearray, out: bytearray) -> None:
    """Move complete chunks from ``body`` to ``out`` (chunked transfer encoding)."""
    while True:
        end = body.find(b"\r\n")
        if end < 0:
            return
        size = int(bytes(body[:end]).split(b";")[0] or b"0", 16)
        if len(body) < end + 2 + size + 2:
            return
        out += body[end + 2 : end + 2 + size]
        del body[: end + 2 + size + 2]


def parse(pieces: list[Piece]) -> list[tuple[float, dict[str, Any]]]:
    """(arrival wall seconds, event JSON) for every SSE ``data`` line in the response."""
    raw = bytearray()
    body = bytearray()
    text = bytearray()
    chunked: bool | None = None
    events: list[tuple[float, dict[str, Any]]] = []
    for arrived, data in pieces:
        if chunked is None:
            raw += data
            head_end = raw.find(b"\r\n\r\n")
            if head_end < 0:
                continue
            head = bytes(raw[:head_end]).lower()
            chunked = b"transfer-encoding: chunked" in head
            data = bytes(raw[head_end + 4 :])
        if chunked:
            body += data
            _dechunk(body, text)
        else:
            text += data
        while (end := text.find(b"\n\n")) >= 0:
            message = bytes(text[:end])
            del text[: end + 2]
            for line in message.split(b"\n"):
                if line.startswith(b"data:"):
                    events.append((arrived, json.loads(line[5:])))
    return events


def run(host: str, port: int, subs: int, timeout: float) -> dict[str, Any]:
    """The whole client: handshake on stdio, subscribe, stream, measure."""
    print("STARTED", flush=True)
    run_id = sys.stdin.readline().strip()
    t0 = time.perf_counter()
    subscribed: list[float] = []

    def on_subscribed() -> None:
        subscribed.extend((time.time() * 1000, time.perf_counter() - t0))
        print(f"SUBSCRIBED {subscribed[0]:.1f}", flush=True)

    socks = [_open(host, port, run_id) for _ in range(subs)]
    all_pieces = _stream_all(socks, timeout, on_subscribed)
    subscribed_ms, connect_s = subscribed
    delays: list[float] = []
    counted: list[int] = []
    types: set[str] = set()
    gate_after_subscribe = True
    for pieces in all_pieces:
        n = 0
        for arrived, event in parse(pieces):
            stamp = event.get("timestampMs", 0)
            if event.get("type") == "NodeFinished" and event.get("nodeId") == "gate":
                gate_after_subscribe &= stamp >= subscribed_ms
            if stamp >= subscribed_ms:
                delays.append(arrived * 1000 - stamp)
                types.add(event["type"])
                n += 1
        counted.append(n)
    return {
        "subs": subs,
        "connect_s": connect_s,
        "deliveries": len(delays),
        "events_per_sub_min": min(counted, default=0),
        "events_per_sub_max": max(counted, default=0),
        "gate_after_subscribe": gate_after_subscribe,
        "p50_ms": percentile(delays, 50),
        "p90_ms": percentile(delays, 90),
        "p99_ms": percentile(delays, 99),
        "max_ms": max(delays, default=float("nan")),
        "types": sorted(types),
    }


def main() -> None:
    """Parse arguments and run; the result is the last stdout line."""
    parser = argparse.ArgumentParser(prog="python -m bench.sse_client")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--subs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    result = run(args.host, args.port, args.subs, args.timeout)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
