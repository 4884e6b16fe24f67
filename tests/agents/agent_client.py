"""Token-carrying clients for the agent API tests (the ``as_agent`` fixture is in tests/conftest.py)."""

from __future__ import annotations

from rest_framework.test import APIClient

HEADER_FORMS = ("x-agent-token", "bearer")


def agent_client(token: str | None, form: str = "x-agent-token", ip: str = "127.0.0.1") -> APIClient:
    client = APIClient(REMOTE_ADDR=ip)
    if token is not None:
        if form == "bearer":
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        else:
            client.credentials(HTTP_X_AGENT_TOKEN=token)
    return client
