"""Fixtures of the contract suite: the deployment under test and HTTP clients for it.

By default the suite starts its own server (``python -m smithers.server``) once per session;
``--base-url URL --token T --root-workflows DIR`` points it at any deployment instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from contracts.deployment import Deployment, LocalServer
from contracts.expect import check_every_response
from contracts.runs import Runs

CENSUS_ENV = "SMITHERS_CONTRACT_CENSUS"
"""When set, collection writes every test's ``contract`` triples to this file (as JSON)."""

REQUEST_TIMEOUT = 15.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smithers-contracts", "Smithers HTTP contract suite")
    group.addoption("--base-url", help="run against this server instead of starting one")
    group.addoption("--token", help="the bearer token of --base-url")
    group.addoption(
        "--root-workflows",
        help="where --base-url has contracts/workflows/*.py (relative to its root, or absolute)",
    )
    group.addoption(
        "--base-url-without-db",
        help="a server without a server database (for DB_NOT_CONFIGURED); same token and files",
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    target = os.environ.get(CENSUS_ENV)
    if not target:
        return
    census = [
        [item.nodeid, *mark.args]
        for item in session.items
        for mark in item.iter_markers("contract")
    ]
    Path(target).write_text(json.dumps(census))


def _remote(config: pytest.Config) -> Deployment | None:
    base_url = config.getoption("--base-url")
    if not base_url:
        return None
    token, workflows = config.getoption("--token"), config.getoption("--root-workflows")
    if not token or not workflows:
        raise pytest.UsageError("--base-url needs --token and --root-workflows")
    return Deployment(base_url, token, workflows)


@pytest.fixture(scope="session")
def deployment(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """The server under test."""
    remote = _remote(pytestconfig)
    if remote is not None:
        yield remote
        return
    server = LocalServer(tmp_path_factory.mktemp("contract-server"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dbless(
    pytestconfig: pytest.Config,
    tmp_path_factory: pytest.TempPathFactory,
    deployment: Deployment,
) -> Iterator[Deployment]:
    """A server without a server database (started on first use in local mode)."""
    url = pytestconfig.getoption("--base-url-without-db")
    if url:
        yield Deployment(url, deployment.token, deployment.workflows_dir)
        return
    if not deployment.local:
        pytest.skip("needs --base-url-without-db: a deployment without a server database")
    server = LocalServer(tmp_path_factory.mktemp("contract-dbless"), server_db=False)
    try:
        yield server.start()
    finally:
        server.stop()


def _client(deployment: Deployment, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(
        base_url=deployment.base_url,
        headers=headers,
        timeout=REQUEST_TIMEOUT,
        event_hooks={"response": [check_every_response]},
    )


@pytest.fixture(scope="session")
def http(deployment: Deployment) -> Iterator[httpx.Client]:
    """An authenticated client; every response it gets is checked for the §3 headers."""
    with _client(deployment, deployment.token) as client:
        yield client


@pytest.fixture(scope="session")
def anon(deployment: Deployment) -> Iterator[httpx.Client]:
    """A client without a token (same response checks)."""
    with _client(deployment, None) as client:
        yield client


@pytest.fixture(scope="session")
def dbless_http(dbless: Deployment) -> Iterator[httpx.Client]:
    """An authenticated client of the server without a database."""
    with _client(dbless, dbless.token) as client:
        yield client


@pytest.fixture
def runs(http: httpx.Client, deployment: Deployment) -> Iterator[Runs]:
    """Start runs of the contract workflows; leftovers are cancelled after the test."""
    started = Runs(http, deployment)
    yield started
    started.cancel_leftovers()


@pytest.fixture(scope="session")
def finished_run(http: httpx.Client, deployment: Deployment) -> str:
    """One finished run shared by read-only tests."""
    return Runs(http, deployment).finished()


@pytest.fixture(scope="session")
def max_body_bytes(deployment: Deployment) -> int:
    """The server's body limit, from the 413 it answers to a huge declared Content-Length."""
    url = urlsplit(deployment.base_url)
    connection = HTTPConnection(url.hostname or "", url.port, timeout=REQUEST_TIMEOUT)
    try:
        connection.putrequest("POST", "/v1/runs")
        connection.putheader("Authorization", f"Bearer {deployment.token}")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(1 << 40))
        connection.endheaders()  # no body follows: the server must answer from the header alone
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 413, body
    return int(body["error"]["details"]["maxBytes"])
