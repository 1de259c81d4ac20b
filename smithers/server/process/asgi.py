"""The import target Granian workers load: the app built from ``SMITHERS_*`` variables."""

from __future__ import annotations

import logging.config

from smithers.server.app import create_app
from smithers.server.http.prerouter import SmithersApp
from smithers.server.process.log_format import log_config
from smithers.server.process.settings import ServerSettings
from smithers.tracing.setup import configure_from_env

__all__ = ["app_from_env"]


def app_from_env() -> SmithersApp:
    """``create_app`` with the settings ``smithers server`` put in the environment; the
    worker's stop signals end its event streams. Each worker traces (and exports) itself when
    the ``OTEL_*`` variables ask for it; ``SMITHERS_LOG_FORMAT=json`` makes its log lines JSON.
    ``create_app`` puts ``smithers.secrets.RedactSecrets`` on every handler then configured."""
    configure_from_env()
    settings = ServerSettings.from_env()
    config = log_config(settings.log_format)
    if config is not None:  # also for the granian command, which knows nothing of it
        logging.config.dictConfig(config)
    return create_app(settings, end_streams_on_stop_signals=True)
