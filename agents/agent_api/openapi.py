"""OpenAPI for agents: operation ids, role tags and the ``x-llm-*`` hints agents read.

Agents download ``/openapi.json`` and keep the operations tagged with their role
(``agent-lead``, ``agent-worker``, ``agent-main``); the hints tell a language model when
an operation is the right call and when it is not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema

from agents.agent_api.base import role_tags


def agent_operation(
    operation_id: str,
    roles: Iterable[str],
    *,
    intent: str,
    when_to_use: list[str],
    when_not_to_use: list[str],
    **schema: Any,
) -> Callable[[Any], Any]:
    """``extend_schema`` for an agent route, with the fields every agent operation has."""
    return extend_schema(
        operation_id=operation_id,
        tags=role_tags(roles),
        extensions={
            "x-llm-intent": intent,
            "x-when-to-use": when_to_use,
            "x-when-not-to-use": when_not_to_use,
        },
        **schema,
    )


class AgentTokenScheme(OpenApiAuthenticationExtension):
    """Documents both header forms of ``AgentTokenAuthentication``."""

    target_class = "agents.authentication.AgentTokenAuthentication"
    name = ["AgentToken", "AgentBearer"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]] | None:
        # A user route that agents may only read (``AgentReadableView``) lists the agent
        # token on those methods only.
        agent_methods = getattr(auto_schema.view, "agent_methods", None)
        if agent_methods is not None and str(auto_schema.method).upper() not in agent_methods:
            return None
        # Either header form is enough: alternatives, not both at once.
        return [{"AgentToken": []}, {"AgentBearer": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {"type": "apiKey", "in": "header", "name": "X-Agent-Token",
             "description": "The agent's token, shown once when the agent is created or its token rotated."},
            {"type": "http", "scheme": "bearer",
             "description": "The same agent token as `Authorization: Bearer <token>`."},
        ]
