"""How an agent proves who it is: its token, in ``X-Agent-Token`` or ``Authorization: Bearer``."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from agents import presence
from agents.models import Agent
from agents.tokens import authenticate_token
from ops import throttle

AGENT_TOKEN_HEADER = "HTTP_X_AGENT_TOKEN"
THROTTLE_SCOPE = "agent_auth"


def presented_token(request: Request) -> str | None:
    """The token the caller sent, or None when it sent none. ``X-Agent-Token`` wins."""
    meta = request.META
    token = meta.get(AGENT_TOKEN_HEADER)
    if token is not None:
        return token.strip()
    scheme, _, credentials = str(meta.get("HTTP_AUTHORIZATION", "")).partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    return None


class AgentTokenAuthentication(BaseAuthentication):
    """The agent API's authentication: ``request.user`` is the calling :class:`Agent`.

    Every request that presents a token counts against the ``agent_auth`` rate limit of
    its client IP before the token is looked at, so guessing costs the guesser, not us.
    """

    def authenticate(self, request: Request) -> tuple[Agent, None] | None:
        raw = presented_token(request)
        if raw is None:
            return None
        throttle.enforce(THROTTLE_SCOPE, request)
        if not raw:
            raise exceptions.AuthenticationFailed("Invalid agent token.")
        agent = authenticate_token(raw)
        if agent is None:
            raise exceptions.AuthenticationFailed("Invalid agent token.")
        presence.mark_seen(agent)
        return agent, None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="agent"'


def request_agent(request: Any) -> Agent:
    """The authenticated agent of an agent API request."""
    agent = request.user
    if not isinstance(agent, Agent):
        raise exceptions.NotAuthenticated("Send your agent token in X-Agent-Token or Authorization: Bearer.")
    return agent
