"""The import target Granian workers load: the app built from ``SMITHERS_*`` variables."""

from __future__ import annotations

from smithers.server.app import create_app
from smithers.server.http.prerouter import SmithersApp
from smithers.server.process.settings import ServerSettings

__all__ = ["app_from_env"]


def app_from_env() -> SmithersApp:
    """``create_app`` with the settings ``smithers server`` put in the environment; the
    worker's stop signals end its event streams."""
    return create_app(ServerSettings.from_env(), end_streams_on_stop_signals=True)
