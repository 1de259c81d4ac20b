"""``--log-format json``: every log line of the server (Granian's and Smithers') as one JSON
object on stderr, with the ``trace_id`` and ``span_id`` of the span current when it was made,
and without the secrets the process knows (``smithers.secrets.RedactSecrets``).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

import msgspec

__all__ = ["JsonLines", "LogFormat", "json_line", "log_config"]

LogFormat = Literal["text", "json"]

_encoder = msgspec.json.Encoder()


def json_line(level: str, logger: str, message: str, **fields: Any) -> str:
    """One JSON log line (newline included)."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
    record = {"time": stamp, "level": level, "logger": logger, "message": message, **fields}
    return _encoder.encode(record).decode() + "\n"


class JsonLines(logging.Formatter):
    """A ``logging`` formatter whose output is one JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {}
        for name in ("trace_id", "span_id"):
            value = getattr(record, name, None)
            if value is not None:
                fields[name] = value
        if record.exc_info:  # the traceback RedactSecrets cleaned, when it did
            fields["exception"] = record.exc_text or self.formatException(record.exc_info)
        line = json_line(record.levelname, record.name, record.getMessage(), **fields)
        return line[:-1]  # the handler ends the line


def log_config(log_format: LogFormat) -> dict[str, Any] | None:
    """The ``logging.config.dictConfig`` for Granian to apply in every process (``None``:
    Granian's own text lines)."""
    if log_format == "text":
        return None
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "filters": ["secrets"],
        "stream": "ext://sys.stderr",
    }
    quiet = {"handlers": ["stderr"], "level": "INFO", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "smithers.server.process.log_format.JsonLines"}},
        "filters": {"secrets": {"()": "smithers.secrets.RedactSecrets"}},
        "handlers": {"stderr": handler},
        "loggers": {"_granian": quiet, "granian.access": quiet, "smithers": quiet},
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }
