"""Fixtures of the agent tests: agents call as often as a test needs, and Clerk's keys."""

from __future__ import annotations

import pytest

from tests.agents.clerk_keys import ISSUER, JwksServer, new_key, public_jwk


@pytest.fixture
def lifted_rate_limits() -> tuple[str, ...]:
    """The agent_auth limit has its own tests, which set it; elsewhere agents call freely."""
    return ("agent_auth", "agent_requests")


@pytest.fixture
def fresh_keys():
    """No JWKS cached, in the process nor in Django's cache, before and after the test."""
    from django.core.cache import cache

    from agents import authentication
    from tests.conftest import clear_cache

    authentication.jwks_cache.clear()
    clear_cache(cache)
    yield
    authentication.jwks_cache.clear()
    clear_cache(cache)


@pytest.fixture(scope="module")
def keys():
    return {"current": new_key(), "next": new_key(), "stranger": new_key()}


@pytest.fixture
def jwks(keys):
    server = JwksServer()
    server.keys = [public_jwk(keys["current"], "kid-current")]
    yield server
    server.stop()


@pytest.fixture
def clerk(settings, jwks):
    settings.AUTH_MODE = "clerk"
    settings.CLERK_JWKS_URL = jwks.url
    settings.CLERK_ISSUER = ISSUER
    settings.CLERK_LEEWAY = 10
    return jwks
