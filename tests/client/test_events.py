"""The event iterators against a real server, through a proxy that breaks connections."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from contracts.deployment import Deployment
from smithers.client import (
    AsyncClient,
    AuthenticationError,
    Client,
    EventStreamError,
    NotFoundError,
    RunEvent,
)
from tests.client.proxy import Break, BreakingProxy
from tests.client.waiting import await_status, wait_for


def proxy_to(server: Deployment, *breaks: Break) -> BreakingProxy:
    url = urlsplit(server.base_url)
    return BreakingProxy((url.hostname or "127.0.0.1", url.port or 80), list(breaks))


@pytest.fixture
def finished(client: Client, server: Deployment) -> tuple[str, list[RunEvent]]:
    """A finished run and its complete event list (read without any proxy)."""
    run_id = client.start_run(server.workflow("instant")).run_id
    wait_for(client, run_id, "finished")
    return run_id, list(client.events(run_id))


@pytest.fixture
def proxies() -> Iterator[list[BreakingProxy]]:
    """Proxies made by a test, closed after it."""
    made: list[BreakingProxy] = []
    yield made
    for proxy in made:
        proxy.close()


def assert_dense(events: list[RunEvent], first: int = 0) -> None:
    assert [e.seq for e in events] == list(range(first, first + len(events)))


def test_events_of_a_finished_run(client: Client, finished: tuple[str, list[RunEvent]]) -> None:
    run_id, events = finished
    assert_dense(events)
    assert events[0].type == "RunStarted" and events[-1].type == "RunFinished"
    assert all(e.data["runId"] == run_id and e.data["type"] == e.type for e in events)
    middle = events[len(events) // 2].seq
    assert list(client.events(run_id, after_seq=middle)) == events[middle + 1 :]
    assert list(client.events(run_id, after_seq=events[-1].seq)) == []


@pytest.mark.parametrize(
    "breaks",
    [
        pytest.param([Break(150), Break(700)], id="two-drops-mid-event"),
        pytest.param([Break(1)], id="drop-in-the-first-block"),
        pytest.param([Break(400, "stall")], id="stalled-connection"),
    ],
)
def test_sync_iterator_survives_broken_connections(
    server: Deployment,
    finished: tuple[str, list[RunEvent]],
    proxies: list[BreakingProxy],
    breaks: list[Break],
) -> None:
    run_id, expected = finished
    proxy = proxy_to(server, *breaks)
    proxies.append(proxy)
    with Client(proxy.url, token=server.token) as client:
        got = list(client.events(run_id, read_timeout=1.0))
    assert got == expected  # no gap, no duplicate
    assert [c.broken for c in proxy.connections] == [True] * len(breaks) + [False]


async def test_async_iterator_survives_a_drop_on_a_live_run(
    aclient: AsyncClient, server: Deployment, proxies: list[BreakingProxy]
) -> None:
    run_id = (await aclient.start_run(server.workflow("approval"))).run_id
    await await_status(aclient, run_id, "waiting-approval")
    proxy = proxy_to(server, Break(500))
    proxies.append(proxy)
    got: list[RunEvent] = []
    async with AsyncClient(proxy.url, token=server.token) as through_proxy:
        async for event in through_proxy.events(run_id):
            got.append(event)
            if event.type == "ApprovalRequested":
                await aclient.approve(run_id, "gate")
    assert got == [e async for e in aclient.events(run_id)]
    assert_dense(got)
    assert got[-1].type == "RunFinished" and proxy.connections[0].broken


def test_sync_iterator_follows_a_live_run(client: Client, server: Deployment) -> None:
    run_id = client.start_run(server.workflow("signal")).run_id
    wait_for(client, run_id, "waiting-event")
    types = []
    for event in client.events(run_id):
        types.append(event.type)
        if event.type == "NodeStarted" and event.data.get("nodeId") == "wait":
            client.signal(run_id, "go")
    assert types[-1] == "RunFinished"


def test_client_errors_are_raised_not_retried(client: Client, server: Deployment) -> None:
    started = time.monotonic()
    with pytest.raises(NotFoundError):
        next(client.events("client-no-such-run"))
    with Client(server.base_url, token="wrong") as unauthorized, pytest.raises(AuthenticationError):
        next(unauthorized.events("client-no-such-run"))
    assert time.monotonic() - started < 0.9, "a retry would have waited the 1 s retry delay"


def test_iterator_gives_up_after_max_retries(
    server: Deployment, finished: tuple[str, list[RunEvent]], proxies: list[BreakingProxy]
) -> None:
    proxy = proxy_to(server, Break(0), Break(0), Break(0))
    proxies.append(proxy)
    with Client(proxy.url, token=server.token) as client, pytest.raises(EventStreamError):
        list(client.events(finished[0], max_retries=2))
    assert len(proxy.connections) == 3


async def test_async_iterator_raises_client_errors(aclient: AsyncClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await anext(aiter(aclient.events("client-no-such-run")))
    assert caught.value.code == "NOT_FOUND"
