"""``smithers.secrets``: the registry, URLs without their credentials, the log filters."""

from __future__ import annotations

import io
import logging

import httpx

from smithers import secrets
from smithers.agents import AnthropicAgent, OpenAIAgent
from smithers.errors import ModelCallFailed
from smithers.store.connect import open_database


def test_known_values_are_replaced_and_short_ones_ignored() -> None:
    secrets.register("unit-secret-abcdef-123")
    secrets.register("unit-secret-abcdef-123-and-more")  # contains the first: hidden whole
    secrets.register("short")
    text = "a unit-secret-abcdef-123-and-more b unit-secret-abcdef-123 c short"
    assert secrets.redact(text) == "a *** b *** c short"
    error = ModelCallFailed("401 from openai: bad key unit-secret-abcdef-123")
    assert error.to_json()["message"] == "401 from openai: bad key ***"
    assert error.message.endswith("unit-secret-abcdef-123")  # the exception itself is intact


def test_urls_lose_userinfo_and_query_and_their_secrets_are_known() -> None:
    url = "https://user:url-pass%2Fword-77@api.example.com:8443/v1?api-key=qs-key-0123456789&v=2"
    assert secrets.safe_url(url) == "https://api.example.com:8443/v1"
    assert secrets.safe_url("http://[::1]:80/x?token=a#frag") == "http://[::1]:80/x"
    secrets.register_url(url)
    shown = secrets.redact("url-pass/word-77 url-pass%2Fword-77 qs-key-0123456789 user v=2")
    assert shown == "*** *** *** user v=2"
    secrets.register_url("https://lone-token-abcdefgh@host/v1", lone_user=True)
    assert secrets.redact("lone-token-abcdefgh") == "***"


def test_a_database_password_is_known_its_user_name_is_not() -> None:
    open_database("postgresql://smithers:db-pass-word-99@127.0.0.1:1/x?sslpassword=ssl-pass-777")
    text = "connect smithers:db-pass-word-99 ssl-pass-777 failed"
    assert secrets.redact(text) == "connect smithers:*** *** failed"


def test_an_agents_repr_shows_its_endpoint_without_credentials() -> None:
    base = "https://user:repr-pass-4242@llm.example.com/v1?api-key=repr-query-key-1"
    for agent in (OpenAIAgent(model="m", base_url=base), AnthropicAgent(model="m", base_url=base)):
        shown = repr(agent)
        assert "repr-pass-4242" not in shown and "repr-query-key-1" not in shown
        assert "https://llm.example.com/v1" in shown
    agent = OpenAIAgent(model="m", base_url=base)
    # requests keep the query string after the path they add
    assert agent.url("/chat/completions") == (
        "https://user:repr-pass-4242@llm.example.com/v1/chat/completions?api-key=repr-query-key-1"
    )


def test_the_log_filter_cleans_messages_tracebacks_and_httpx_urls() -> None:
    secrets.register("log-secret-value-31337")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(secrets.RedactSecrets())
    logger = logging.getLogger("tests.secrets")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("key %s in use", "log-secret-value-31337")
        try:
            raise RuntimeError("failed with log-secret-value-31337")
        except RuntimeError:
            logger.exception("oops")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "log-secret-value-31337" not in text
    assert "key *** in use" in text and "RuntimeError: failed with ***" in text

    secrets.hide_urls_in("tests.secrets.httpx")
    url = httpx.URL("https://u:p-secret-url-9@h.example/v1/chat?api-key=k")
    record = logging.LogRecord(
        "tests.secrets.httpx", logging.INFO, "", 0, "%s %s", ("POST", url), None
    )
    assert logging.getLogger("tests.secrets.httpx").filter(record)
    assert record.getMessage() == "POST https://h.example/v1/chat"
