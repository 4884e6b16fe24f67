"""What every agent API view shares: token authentication, the role check and board reach.

A view lists the roles that may call each method in ``roles`` (``lead``, ``worker``,
``main``); the same table feeds the OpenAPI tags agents filter by. Views of other apps
(the webhook payload route) subclass :class:`AgentAPIView` the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any, ClassVar

from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.access import get_board_for_agent
from agents.authentication import AgentTokenAuthentication, request_agent
from agents.models import Agent, Board
from agents.refusals import RuleViolation
from agents.rules.inputs import priority_from_word
from missioncontrol.api.pagination import LimitOffsetEnvelopePagination, parse_paging
from missioncontrol.api.views import validated

LEAD, WORKER, MAIN = "lead", "worker", "main"
ALL_ROLES = (LEAD, WORKER, MAIN)
BOARD_ROLES = (LEAD, WORKER)
ROLE_TAGS = {LEAD: "agent-lead", WORKER: "agent-worker", MAIN: "agent-main"}


def role_tags(roles: Iterable[str]) -> list[str]:
    """The OpenAPI tags of the roles allowed to call an operation, in a fixed order."""
    allowed = set(roles)
    return [ROLE_TAGS[role] for role in ALL_ROLES if role in allowed]


class IsAgent(BasePermission):
    """Only an authenticated agent; the role per method is checked by the view."""

    message = "Send your agent token in X-Agent-Token or Authorization: Bearer."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, Agent)


# Agents were written against a server that ignored keys it did not know and took null for
# any optional field; LLM-driven agents send both routinely. The agent routes accept that
# (the user API stays strict, so people's typos are reported).
NULL_MEANS_EMPTY = {"description": ""}
NULL_MEANS_ABSENT = frozenset({"comment", "payload", "rubric_scores", "lead_reasoning", "tags", "source",
                               "priority", "task_ids", "depends_on_task_ids", "tag_ids",
                               "custom_field_values"})


@lru_cache(maxsize=32)
def _writable_fields(serializer_class: type[serializers.Serializer]) -> frozenset[str]:
    return frozenset(name for name, field in serializer_class().fields.items() if not field.read_only)


def agent_task_input(serializer_class: type[serializers.Serializer], request: Request,
                     **kwargs: Any) -> tuple[dict[str, Any], str | None]:
    """A task body as :func:`agent_input` reads it, with ``priority`` read from whatever word
    the agent sent (``critical`` is ``urgent``); also returns that word, for the event."""
    data = agent_input(serializer_class, request, **kwargs)
    sent = data.get("priority")
    if not isinstance(sent, str):
        return data, None
    data["priority"] = priority_from_word(sent)
    return data, sent


def agent_input(serializer_class: type[serializers.Serializer], request: Request, **kwargs: Any) -> dict[str, Any]:
    """The body as ``validated`` checks it, after dropping unknown keys and reading ``null``
    (and a blank ``comment``) in an optional field as "not given". ``"status": null`` stays a 422."""
    data = request.data
    if isinstance(data, dict):
        writable = _writable_fields(serializer_class)
        kept: dict[str, Any] = {}
        for name, value in data.items():
            if name not in writable:
                continue
            if value is None and name in NULL_MEANS_EMPTY:
                value = NULL_MEANS_EMPTY[name]
            elif value is None and name in NULL_MEANS_ABSENT:
                continue
            elif name == "comment" and isinstance(value, str) and not value.strip():
                continue
            kept[name] = value
        data = kept
    return validated(serializer_class, request, data=data, **kwargs)


class AgentAPIView(APIView):
    """Base of every agent route. ``roles`` maps an HTTP method to the roles allowed."""

    authentication_classes = [AgentTokenAuthentication]
    permission_classes = [IsAgent]
    # Both agent limits (failed authentications per IP, requests per agent) are applied by
    # the authentication class, the first before the token is looked up.
    throttle_classes = []
    roles: ClassVar[dict[str, tuple[str, ...]]] = {}
    # Read by the schema generator, which documents list answers in the envelope.
    pagination_class: type[Any] | None = LimitOffsetEnvelopePagination

    @property
    def agent(self) -> Agent:
        return request_agent(self.request)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.check_role(self.roles.get(request.method or "", ALL_ROLES))

    def check_role(self, roles: Iterable[str]) -> None:
        agent = self.agent
        allowed = tuple(roles)
        if agent.role not in allowed:
            raise RuleViolation(403, "agent_role_not_allowed",
                                f"A {agent.role} agent cannot do this; it is for: {', '.join(allowed)}.",
                                role=agent.role)

    def get_board_for_agent(self, board_id: Any, roles: Iterable[str] | None = None) -> Board:
        """The board, when it exists (404) and the calling agent may reach it (403)."""
        if roles is not None:
            self.check_role(roles)
        agent = self.agent
        if agent.board_id is not None and str(agent.board_id) == str(board_id) and agent.board is not None:
            return agent.board  # loaded with the token lookup: no query
        return get_board_for_agent(agent, board_id)

    def envelope(self, queryset: Any, serializer_class: type[Any]) -> Response:
        """A page of ``queryset`` in the list envelope.

        Agents poll these lists on every heartbeat and most answers fit in one page; a
        short page already tells the total, so the COUNT query runs only when it must."""
        limit, offset = parse_paging(self.request)
        page = list(queryset[offset:offset + limit])
        if len(page) < limit and (page or offset == 0):
            total = offset + len(page)
        else:
            total = queryset.count()
        items = serializer_class(page, many=True).data
        return Response({"items": items, "total": total, "limit": limit, "offset": offset})
