"""Fixtures for the agent API tests: token-carrying clients for the shared cast."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from agents.tokens import mint_token

HEADER_FORMS = ("x-agent-token", "bearer")


def agent_client(token: str | None, form: str = "x-agent-token", ip: str = "127.0.0.1") -> APIClient:
    client = APIClient(REMOTE_ADDR=ip)
    if token is not None:
        if form == "bearer":
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        else:
            client.credentials(HTTP_X_AGENT_TOKEN=token)
    return client


@pytest.fixture(autouse=True)
def fresh_rate_limits(settings):
    """Each test starts with empty counters and a limit far above what it sends; the
    throttle tests set their own limit."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "agent_auth": (100_000, 60), "agent_requests": (100_000, 60)}
    clear_rate_limits()
    yield
    clear_rate_limits()


def clear_rate_limits() -> None:
    cache = caches["ratelimit"]
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("throttle:*")  # Redis: only our counters, not the whole database
    else:
        cache.clear()


@pytest.fixture
def as_agent():
    """``as_agent(agent)``: a client sending a freshly minted token for ``agent``."""

    def build(agent, form: str = "x-agent-token", ip: str = "127.0.0.1") -> APIClient:
        return agent_client(mint_token(agent), form, ip)

    return build
