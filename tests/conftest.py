"""Shared fixtures. The cast (people and agents) is added by the domain tests' fixtures below."""

from __future__ import annotations

import os

import pytest

# In CI every service the product uses must really be exercised: a test that would skip
# for lack of Redis fails instead.
STRICT_SERVICES = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def redis_url_for_tests() -> str | None:
    return os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or None


def require_redis() -> str:
    url = redis_url_for_tests()
    if url is None:
        message = "needs Redis: set REDIS_URL or TEST_REDIS_URL"
        if STRICT_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def redis_url() -> str:
    return require_redis()
