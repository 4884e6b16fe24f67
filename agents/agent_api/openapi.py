"""OpenAPI for agents: operation ids, role tags and the ``x-*`` hints agents read.

Agents download ``/openapi.json`` and keep the operations tagged with their role
(``agent-lead``, ``agent-worker``, ``agent-main``); a language model then picks one by its
summary, description and hints: its intent, when to use it and when not, who may call it,
what must hold first, what it changes, and worked routing examples.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema

from agents.agent_api.base import (
    ALL_ROLES,
    LEAD,
    MAIN,
    NULL_MEANS_ABSENT,
    NULL_MEANS_EMPTY,
    ROLE_TAGS,
    WORKER,
    role_tags,
)

# ``x-required-actor``: who may call, in the words the earlier server's agents know.
REQUIRED_ACTORS = {
    frozenset(ALL_ROLES): "any_agent",
    frozenset({LEAD, WORKER}): "board_lead_or_worker",
    frozenset({LEAD}): "board_lead",
    frozenset({WORKER}): "board_worker",
    frozenset({MAIN}): "agent_main",
    frozenset({LEAD, MAIN}): "board_lead_or_agent_main",
}
INTENT = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
type RoutingExample = dict[str, Any]


def required_actor(roles: Iterable[str]) -> str:
    return REQUIRED_ACTORS[frozenset(roles)]


def routing_example(intent: str, required_privilege: str, decision: str) -> RoutingExample:
    """One ``x-routing-policy-examples`` entry: a situation, the privilege it needs, and the
    ``operationId`` it should be routed to (this operation or a sibling)."""
    if required_privilege not in REQUIRED_ACTORS.values():
        raise ValueError(f"Unknown privilege {required_privilege!r}; use one of {sorted(REQUIRED_ACTORS.values())}.")
    return {"input": {"intent": intent, "required_privilege": required_privilege}, "decision": decision}


def _texts(name: str, values: list[str]) -> list[str]:
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise ValueError(f"{name} must be a non-empty list of sentences.")
    return values


def agent_operation(
    operation_id: str,
    roles: Iterable[str],
    *,
    summary: str,
    description: str,
    intent: str,
    when_to_use: list[str],
    when_not_to_use: list[str],
    prerequisites: list[str],
    side_effects: list[str],
    negative_guidance: list[str],
    routing_policy: list[str],
    routing_examples: list[RoutingExample],
    **schema: Any,
) -> Callable[[Any], Any]:
    """``extend_schema`` for an agent route, with everything an agent's model reads to choose
    it. Every hint is required: an operation without them is one agents cannot pick well.

    ``x-required-actor`` follows from ``roles``; each routing example's ``decision`` is an
    ``operationId`` (this one, or the sibling to use instead)."""
    roles = tuple(roles)
    if not INTENT.fullmatch(intent):
        raise ValueError(f"intent {intent!r} must be snake_case.")
    if not summary.strip() or not description.strip():
        raise ValueError(f"{operation_id} needs a summary and a description.")
    if not routing_examples:
        raise ValueError(f"{operation_id} needs routing examples.")
    extensions = {
        "x-llm-intent": intent,
        "x-when-to-use": _texts("when_to_use", when_to_use),
        "x-when-not-to-use": _texts("when_not_to_use", when_not_to_use),
        "x-required-actor": required_actor(roles),
        "x-prerequisites": _texts("prerequisites", prerequisites),
        "x-side-effects": _texts("side_effects", side_effects),
        "x-negative-guidance": _texts("negative_guidance", negative_guidance),
        "x-routing-policy": _texts("routing_policy", routing_policy),
        "x-routing-policy-examples": routing_examples,
    }
    return extend_schema(operation_id=operation_id, tags=role_tags(roles), summary=summary,
                         description=description, extensions=extensions, **schema)


COMPONENT_PREFIX = "#/components/schemas/"


def lenient_agent_bodies(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook: the request bodies of agent operations as the
    agent routes read them (``agents.agent_api.base.agent_input``): unknown keys are
    ignored, and null in the optional fields listed there means "not given".

    The user API reads the same serializers strictly (``additionalProperties: false``), so
    a component both share is copied for the agent operations under an ``Agent`` name."""
    components = result.get("components", {}).get("schemas", {})
    agent_tags = set(ROLE_TAGS.values())
    bodies: list[tuple[dict[str, Any], str, bool]] = []  # (media type entry, component, is agent)
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            is_agent = bool(set(operation.get("tags", [])) & agent_tags)
            for media in operation["requestBody"].get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                if ref.startswith(COMPONENT_PREFIX):
                    bodies.append((media, ref.removeprefix(COMPONENT_PREFIX), is_agent))
    shared = {name for _, name, is_agent in bodies if not is_agent}
    for media, name, is_agent in bodies:
        if not is_agent or name not in components:
            continue
        lenient_name = f"Agent{name}" if name in shared else name
        if lenient_name not in components or lenient_name == name:
            lenient = dict(components[name])
            lenient.pop("additionalProperties", None)
            lenient["properties"] = {
                field: ({**spec, "nullable": True} if field in NULL_MEANS_ABSENT or field in NULL_MEANS_EMPTY else spec)
                for field, spec in lenient.get("properties", {}).items()}
            components[lenient_name] = lenient
        media["schema"] = {"$ref": COMPONENT_PREFIX + lenient_name}
    return result


class AgentTokenScheme(OpenApiAuthenticationExtension):
    """Documents both header forms of ``AgentTokenAuthentication``."""

    target_class = "agents.authentication.AgentTokenAuthentication"
    name = ["AgentToken", "AgentBearer"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        # A user route that agents may only read (``AgentReadableView``) lists the agent
        # token on those methods only.
        agent_methods = getattr(auto_schema.view, "agent_methods", None)
        if agent_methods is not None and str(auto_schema.method).upper() not in agent_methods:
            return []
        # Either header form is enough: alternatives, not both at once.
        return [{"AgentToken": []}, {"AgentBearer": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {"type": "apiKey", "in": "header", "name": "X-Agent-Token",
             "description": "The agent's token, shown once when the agent is created or its token rotated."},
            {"type": "http", "scheme": "bearer",
             "description": "The same agent token as `Authorization: Bearer <token>`."},
        ]
