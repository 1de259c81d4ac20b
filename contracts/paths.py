"""Concrete request paths for the route templates."""

from __future__ import annotations

from urllib.parse import quote

MISSING_RUN = "contract-no-such-run"
"""A valid run id no run has."""


def concrete(
    template: str, run_id: str = MISSING_RUN, node_id: str = "gate", signal: str = "go"
) -> str:
    """The template with its parameters filled in (percent-encoded)."""
    return (
        template.replace("{runId}", quote(run_id, safe=""))
        .replace("{nodeId}", quote(node_id, safe=""))
        .replace("{signalName}", quote(signal, safe=""))
    )
