"""Fixtures of the API plumbing tests, which call the API as agents."""

from __future__ import annotations

import pytest


@pytest.fixture
def lifted_rate_limits() -> tuple[str, ...]:
    """Agents may call as often as a test needs; the agent_auth limit has its own tests."""
    return ("agent_auth", "agent_requests")
