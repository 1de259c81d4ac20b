"""The secrets this process knows, kept out of every error text and log line it lets out.

Whoever reads a secret registers it: the agents their API key at each call (and the password
or key in a ``base_url``), the CLI agents the credential variables they pass on, the server
its bearer token, ``open_database`` the database password. ``redact(text)`` replaces each
known value with ``***``; it is applied where error text leaves the process —
``SmithersError.to_json`` and ``engine.attempts.error_json`` (attempts, nodes, runs,
tool-call log, events), a tool's error given to a model, the CLI's error line — and, by
``RedactSecrets``, to log lines. Redaction is for error text only, never for every event.

URLs are logged without userinfo or query string (``safe_url``; ``hide_urls_in("httpx")``
rewrites httpx's ``HTTP Request: POST …`` line).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from urllib.parse import unquote, unquote_plus, urlsplit, urlunsplit

__all__ = [
    "MASK",
    "MIN_SECRET_CHARS",
    "RedactSecrets",
    "hide_urls_in",
    "install_log_redaction",
    "looks_secret",
    "redact",
    "register",
    "register_url",
    "safe_url",
]

MASK = "***"
MIN_SECRET_CHARS = 8
"""Shorter values are not taken for secrets: replacing them would mangle ordinary text."""

_SECRET_NAME_PARTS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "SIG")

_lock = threading.Lock()
_known: frozenset[str] = frozenset()
_longest_first: tuple[str, ...] = ()
"""Replaced whole on each registration: ``redact`` reads it without a lock."""


def register(value: str | None) -> None:
    """Know ``value`` (and it without surrounding blanks) as a secret from now on; ignored
    when shorter than 8 characters."""
    global _known, _longest_first
    if not value or value in _known or len(value.strip()) < MIN_SECRET_CHARS:
        return
    with _lock:
        known = _known | {value, value.strip()}
        _longest_first = tuple(sorted(known, key=len, reverse=True))
        _known = known


def redact(text: str) -> str:
    """``text`` with every known secret replaced by ``***`` (longest first, so a secret that
    contains another is hidden whole)."""
    for secret in _longest_first:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def looks_secret(name: str) -> bool:
    """Whether a variable or query parameter named ``name`` holds a credential."""
    upper = name.upper().replace("-", "_")
    return any(part in upper for part in _SECRET_NAME_PARTS)


def register_url(url: str, *, lone_user: bool = False) -> None:
    """Register the credentials a URL carries: its password and secret query values, as
    written and decoded; with ``lone_user``, a user name without a password too (the form
    token-only endpoints use: ``https://TOKEN@host``; a database's user name is no secret)."""
    try:
        parts = urlsplit(url)
        password, username = parts.password, parts.username
    except ValueError:
        return
    for value in (password, username if lone_user and not password else None):
        if value:
            register(value)
            register(unquote(value))
    for raw in parts.query.split("&"):
        name, _, value = raw.partition("=")
        if looks_secret(unquote_plus(name)):
            register(value)  # as written in the URL's text, and decoded
            register(unquote_plus(value))


def safe_url(url: str) -> str:
    """``url`` without userinfo, query string and fragment (scheme, host, port and path)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url.partition("://")[0] + "://" + MASK if "://" in url else MASK
    if not parts.netloc:
        return urlunsplit((parts.scheme, "", parts.path, "", ""))
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# --- log lines ------------------------------------------------------------------------------

_exceptions = logging.Formatter()


class RedactSecrets(logging.Filter):
    """A handler filter: the record's message, traceback and stack with secrets replaced.

    Put on handlers (a logger's own filters do not see records its children propagate);
    ``{"()": "smithers.secrets.RedactSecrets"}`` in a ``dictConfig`` does it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _longest_first:
            return True
        try:
            message = record.getMessage()
        except Exception:  # bad arguments: the handler reports them, as without the filter
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _exceptions.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class _SafeUrls(logging.Filter):
    """A logger filter: URL arguments of the logger's records shown by ``safe_url``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(_is_url(a) for a in args):
            record.args = tuple(safe_url(str(a)) if _is_url(a) else a for a in args)
        return True


def _is_url(value: object) -> bool:
    return type(value).__name__ == "URL" or (isinstance(value, str) and "://" in value)


def hide_urls_in(logger_name: str) -> None:
    """URLs logged by ``logger_name`` (as arguments) lose their userinfo and query string."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, _SafeUrls) for f in logger.filters):
        logger.addFilter(_SafeUrls())


def install_log_redaction() -> None:
    """``RedactSecrets`` on every handler configured so far and on ``logging.lastResort``
    (which prints the warnings of a process that configured none), and httpx's URLs hidden.
    Idempotent; call it after ``logging.config`` has run."""
    handlers: list[logging.Handler] = list(logging.getLogger().handlers)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            handlers += logger.handlers
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    _add_filter(handlers)
    hide_urls_in("httpx")


def _add_filter(handlers: Iterable[logging.Handler]) -> None:
    for handler in handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
