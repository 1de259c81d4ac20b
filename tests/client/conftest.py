"""A real server subprocess for the client tests (the contract suite's local server)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from contracts.deployment import Deployment, LocalServer
from smithers.client import AsyncClient, Client


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One server with a database, a token and the contract workflows, for the whole session."""
    local = LocalServer(tmp_path_factory.mktemp("client-server"))
    try:
        yield local.start()
    finally:
        local.stop()


@pytest.fixture
def client(server: Deployment) -> Iterator[Client]:
    """A sync client with the right token."""
    with Client(server.base_url, token=server.token) as sync_client:
        yield sync_client


@pytest.fixture
async def aclient(server: Deployment) -> AsyncIterator[AsyncClient]:
    """An async client with the right token."""
    async with AsyncClient(server.base_url, token=server.token) as async_client:
        yield async_client
