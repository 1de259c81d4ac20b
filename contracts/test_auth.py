"""§2.2: the bearer token, checked before routing, body reading and the size check."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from contracts.deployment import Deployment
from contracts.documented import OPERATIONS, UNMATCHED
from contracts.expect import expect_error, expect_json
from contracts.paths import concrete

MESSAGE = "Missing or invalid authorization token"


def expect_unauthorized(response: httpx.Response) -> None:
    """401 UNAUTHORIZED with ``WWW-Authenticate: Bearer``."""
    expect_error(response, 401, "UNAUTHORIZED", MESSAGE)
    assert response.headers.get("www-authenticate") == "Bearer"


PROTECTED = [
    pytest.param(method, path, marks=pytest.mark.contract(method, path, 401), id=f"{method} {path}")
    for method, path in OPERATIONS
    if path != "/health"
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-token"),
        pytest.param({"Authorization": "Bearer wrong"}, id="wrong-bearer"),
        pytest.param({"x-smithers-key": "wrong"}, id="wrong-key"),
        pytest.param({"Authorization": "Bearer"}, id="bearer-without-token"),
    ],
)
def test_every_route_but_health_requires_the_token(
    anon: httpx.Client, method: str, path: str, headers: dict[str, str]
) -> None:
    response = anon.request(method, concrete(path), headers=headers, json={})
    expect_unauthorized(response)


@pytest.mark.contract("GET", UNMATCHED, 401)
@pytest.mark.parametrize("path", ["/no/such/route", "/v1/runs/", "/V1/RUNS"])
def test_unknown_paths_answer_401_before_404(anon: httpx.Client, path: str) -> None:
    expect_unauthorized(anon.get(path))


def test_oversize_body_answers_401_before_413(anon: httpx.Client, max_body_bytes: int) -> None:
    expect_unauthorized(
        anon.post("/v1/runs", content=b"x" * (max_body_bytes + 1), headers={"Connection": "close"})
    )


def test_wrong_method_answers_401_before_405(anon: httpx.Client) -> None:
    expect_unauthorized(anon.delete("/v1/runs"))


def test_bad_query_answers_401_before_400(anon: httpx.Client) -> None:
    expect_unauthorized(anon.get(concrete("/v1/runs/{runId}/events"), params={"afterSeq": "x"}))


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda t: {"Authorization": f"Bearer {t}"}, id="bearer"),
        pytest.param(lambda t: {"Authorization": f"bearer {t}"}, id="bearer-lowercase"),
        pytest.param(lambda t: {"Authorization": f"BEARER {t}"}, id="bearer-uppercase"),
        pytest.param(lambda t: {"Authorization": t}, id="raw-authorization"),
        pytest.param(lambda t: {"x-smithers-key": t}, id="key"),
        pytest.param(lambda t: {"x-smithers-key": f"Bearer {t}"}, id="key-with-bearer"),
        pytest.param(
            lambda t: {"Authorization": "Bearer wrong", "x-smithers-key": t},
            id="wrong-authorization-right-key",
        ),
        pytest.param(
            lambda t: {"Authorization": f"Bearer {t}", "x-smithers-key": "wrong"},
            id="right-authorization-wrong-key",
        ),
    ],
)
def test_accepted_token_headers(
    anon: httpx.Client, deployment: Deployment, headers: Callable[[str], dict[str, str]]
) -> None:
    response = anon.get("/metrics", headers=headers(deployment.token))
    assert response.status_code == 200, response.text


def test_health_needs_no_token(anon: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        assert expect_json(anon.get("/health", headers=headers)) == {"ok": True}
