"""Fixtures of the gateway tests that use the database: agents call as often as a test needs."""

from __future__ import annotations

from tests.agents.agent_client import fresh_rate_limits  # noqa: F401
