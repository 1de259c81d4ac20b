"""``AsyncClient``: the asyncio Smithers HTTP client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TypeVar

import httpx

from smithers.client.calls import DEFAULT_BASE_URL, Call, auth_headers
from smithers.client.methods import Routes
from smithers.client.models import RunEvent
from smithers.client.sse import EventCursor

__all__ = ["AsyncClient"]

T = TypeVar("T")


class AsyncClient(Routes):
    """An asyncio client for one Smithers server; error statuses raise ``SmithersHTTPError``.

    Its route methods (``start_run``, ``get_run``, …) come from ``Routes``: the same table
    as ``Client``'s, awaited by ``_send``.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        token: str | None = None,
        timeout: float = 10.0,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=auth_headers(token), timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _send(self, call: Call[T]) -> T:
        response = await self._http.request(
            call.method, call.path, params=call.params, content=call.content, headers=call.headers
        )
        return call.result(response.status_code, response.content)

    async def events(
        self,
        run_id: str,
        after_seq: int = -1,
        *,
        read_timeout: float = 30.0,
        max_retries: int = 5,
    ) -> AsyncIterator[RunEvent]:
        """Every event of a run with a greater ``seq``, live, until the run is terminal.

        A dropped connection (or silence longer than ``read_timeout``) is reopened after the
        server's ``retry`` delay, resuming after the last event yielded: no event is missed or
        yielded twice. ``EventStreamError`` after ``max_retries`` failures in a row.
        """
        cursor = EventCursor(run_id, after_seq, max_retries)
        timeout = httpx.Timeout(self.timeout, read=read_timeout)
        while True:
            try:
                async with self._http.stream(
                    "GET",
                    cursor.path,
                    params=cursor.params,
                    headers=cursor.headers,
                    timeout=timeout,
                ) as response:
                    body = b"" if response.status_code == 200 else await response.aread()
                    if cursor.connected(response.status_code, body):
                        async for line in response.aiter_lines():
                            event = cursor.feed(line)
                            if event is not None:
                                yield event
                        if cursor.finished:
                            return
                        if cursor.needs_status() and cursor.status_seen(
                            (await self.get_run(run_id)).status
                        ):
                            return
            except httpx.TransportError as exc:
                cursor.failed(exc)
            await asyncio.sleep(cursor.delay)
