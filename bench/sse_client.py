"""SSE subscribers in their own process: N raw-socket streams of one run, timed on arrival.

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
import asyncio
import json
import sys
import time
from typing import Any

from bench.stats import percentile

Piece = tuple[float, bytes]


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter, list[Piece]]


async def _open(host: str, port: int, run_id: str) -> Stream:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET /v1/runs/{run_id}/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Accept: text/event-stream\r\nConnection: close\r\n\r\n".encode()
    )
    pieces: list[Piece] = []
    while b"retry:" not in b"".join(p for _, p in pieces):
        data = await reader.read(65536)
        if not data:
            raise ConnectionError("stream closed before its retry line")
        pieces.append((time.time(), data))
    return reader, writer, pieces


async def _drain(stream: Stream) -> None:
    reader, writer, pieces = stream
    while True:
        data = await reader.read(65536)
        if not data:
            break
        pieces.append((time.time(), data))
    writer.close()


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


async def run(host: str, port: int, subs: int, timeout: float) -> dict[str, Any]:
    """The whole client: handshake on stdio, subscribe, stream, measure."""
    print("STARTED", flush=True)
    run_id = (await asyncio.to_thread(sys.stdin.readline)).strip()
    t0 = time.perf_counter()
    sem = asyncio.Semaphore(64)

    async def opened() -> Stream:
        async with sem:
            return await _open(host, port, run_id)

    streams = await asyncio.gather(*[opened() for _ in range(subs)])
    subscribed_ms = time.time() * 1000
    connect_s = time.perf_counter() - t0
    print(f"SUBSCRIBED {subscribed_ms:.1f}", flush=True)
    async with asyncio.timeout(timeout):
        await asyncio.gather(*[_drain(stream) for stream in streams])
    delays: list[float] = []
    counted: list[int] = []
    types: set[str] = set()
    gate_after_subscribe = True
    for _, _, pieces in streams:
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
    result = asyncio.run(run(args.host, args.port, args.subs, args.timeout))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
