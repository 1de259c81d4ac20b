"""What the HTTP contract documents, transcribed from the spec (``http-api.md``).

The suite must not read the spec at run time, so its (method, path, status) triples are
written down here; ``test_coverage.py`` checks that a contract test is marked for each of
them and for each status the server's own OpenAPI document lists.
"""

from __future__ import annotations

UNMATCHED = "<unmatched>"
"""Pseudo path of requests that match no route."""

Triple = tuple[str, str, int]

OPERATIONS: tuple[tuple[str, str], ...] = (
    ("GET", "/health"),
    ("GET", "/metrics"),
    ("POST", "/v1/runs"),
    ("GET", "/v1/runs"),
    ("POST", "/v1/runs/{runId}/resume"),
    ("POST", "/v1/runs/{runId}/cancel"),
    ("GET", "/v1/runs/{runId}"),
    ("GET", "/v1/runs/{runId}/events"),
    ("GET", "/v1/runs/{runId}/frames"),
    ("POST", "/v1/runs/{runId}/nodes/{nodeId}/approve"),
    ("POST", "/v1/runs/{runId}/nodes/{nodeId}/deny"),
    ("POST", "/v1/runs/{runId}/signals/{signalName}"),
    ("POST", "/signal/{runId}/{signalName}"),
    ("GET", "/v1/approvals"),
    ("GET", "/v1/approval/list"),
    ("GET", "/approval/list"),
    ("GET", "/approvals"),
    # Smithers' additions (docs/http-api.md "Additions"): reads the console needs
    ("GET", "/v1/runs/{runId}/nodes"),
    ("GET", "/v1/runs/{runId}/tool-calls"),
    ("GET", "/v1/runs/{runId}/input"),
    ("GET", "/v1/runs/{runId}/transcript"),
    ("GET", "/v1/run-counts"),
)
"""Every route of §5 (with its aliases), ``/health`` (§2.1), ``/metrics`` and the reads
Smithers adds."""

APPROVAL_PATHS = ("/v1/approvals", "/v1/approval/list", "/approval/list", "/approvals")
SIGNAL_PATHS = ("/v1/runs/{runId}/signals/{signalName}", "/signal/{runId}/{signalName}")
DECISION_PATHS = (
    "/v1/runs/{runId}/nodes/{nodeId}/approve",
    "/v1/runs/{runId}/nodes/{nodeId}/deny",
)

_OWN: dict[tuple[str, str], tuple[int, ...]] = {
    ("POST", "/v1/runs"): (400, 404, 409, 413),
    ("GET", "/v1/runs"): (400,),
    ("POST", "/v1/runs/{runId}/resume"): (400, 404, 413),
    ("POST", "/v1/runs/{runId}/cancel"): (404, 409),
    ("GET", "/v1/runs/{runId}"): (404,),
    ("GET", "/v1/runs/{runId}/events"): (400, 404),
    ("GET", "/v1/runs/{runId}/frames"): (400, 404),
    ("GET", "/v1/runs/{runId}/nodes"): (404,),
    ("GET", "/v1/runs/{runId}/tool-calls"): (404,),
    ("GET", "/v1/runs/{runId}/input"): (404,),
    ("GET", "/v1/runs/{runId}/transcript"): (404,),
    ("GET", "/v1/run-counts"): (400,),
    **{("POST", path): (400, 404, 409, 413) for path in DECISION_PATHS},
    **{("POST", path): (400, 404, 413) for path in SIGNAL_PATHS},
    **{("GET", path): (400,) for path in APPROVAL_PATHS},
}
"""Statuses §5 names route by route (400 ``DB_NOT_CONFIGURED`` for the listings)."""


def spec_triples() -> set[Triple]:
    """Every (method, path, status) the spec documents.

    200 for every route; 401 for every path but ``/health`` (§2.2, unknown paths too);
    405 for every known path (§2.3); 404 for unknown paths (§2.3); the codes of §5.
    """
    triples: set[Triple] = {("GET", UNMATCHED, 404), ("GET", UNMATCHED, 401)}
    for method, path in OPERATIONS:
        triples |= {(method, path, 200), (method, path, 405)}
        if path != "/health":
            triples.add((method, path, 401))
        triples |= {(method, path, status) for status in _OWN.get((method, path), ())}
    return triples
