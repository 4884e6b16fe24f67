"""The heartbeat routes of older agent workspaces, kept under the user API's prefix.

Workspaces written for the earlier server (and cron jobs set up as a workaround) post
their heartbeat to ``/api/v1/agents/heartbeat`` or ``/api/v1/agents/{id}/heartbeat`` with
their agent token. Both do what ``POST /api/v1/agent/heartbeat`` does; the body those
callers send (``name``, ``board_id``, ``status``) is not read: the token says who is
calling, and presence is Mission Control's to compute. A person calling them is told the
route is for agents.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from agents import presence
from agents.agent_api.base import ALL_ROLES, AgentAPIView
from agents.agent_api.openapi import agent_operation, routing_example
from agents.authentication import AgentTokenAuthentication
from agents.models import Agent
from agents.refusals import RuleViolation
from agents.serializers import AgentSerializer
from missioncontrol.api.schema import error_responses
from missioncontrol.api.views import PersonView

AGENT_SECURITY: list[dict[str, list[str]]] = [{"AgentToken": []}, {"AgentBearer": []}]


class LegacyHeartbeatBodySerializer(serializers.Serializer):
    """What older workspaces send; accepted and not read."""

    name = serializers.CharField(required=False, help_text="Not read: the token says who you are.")
    board_id = serializers.UUIDField(required=False, allow_null=True, help_text="Not read.")
    status = serializers.CharField(required=False, help_text="Not read: your status follows from your calls.")


class IsAgentNotPerson(BasePermission):
    """Agents pass; a signed-in person is told whose route this is (403), anyone else 401."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.user, Agent):
            return True
        if getattr(request.user, "is_authenticated", False):
            raise RuleViolation(403, "agents_only",
                                "This route records an agent's heartbeat and takes the agent's own token "
                                "(X-Agent-Token or Authorization: Bearer). People read an agent's status at "
                                "GET /api/v1/agents/{id}.")
        return False


class LegacyHeartbeatBase(AgentAPIView):
    """People's classes are tried too, so a person is recognised and refused with a reason
    instead of being told their credentials are wrong."""

    permission_classes = [IsAgentNotPerson]

    def get_authenticators(self) -> list[BaseAuthentication]:
        return [*(auth() for auth in PersonView.authentication_classes), AgentTokenAuthentication()]

    def beat(self) -> Response:
        return Response(AgentSerializer(presence.heartbeat(self.agent)).data)


LEGACY_ERRORS = error_responses(401, 403, 429)


class LegacyHeartbeatView(LegacyHeartbeatBase):
    roles = {"POST": ALL_ROLES}

    @agent_operation(
        "agent_legacy_heartbeat", ALL_ROLES,
        summary="Check in on the older path, POST /api/v1/agents/heartbeat",
        description="The heartbeat path that older workspace files and cron jobs call. It does exactly what POST "
                    "/api/v1/agent/heartbeat does: your token says who you are, and name, board_id and status in "
                    "the body are accepted but not read. Answers your agent record.",
        intent="report_alive_older_path",
        when_to_use=["Your workspace files or a cron job post here and cannot be changed yet."],
        when_not_to_use=["Any new heartbeat loop: call POST /api/v1/agent/heartbeat.",
                         "Creating or renaming an agent: a name in this body does nothing."],
        prerequisites=["Your agent token; a person's credentials get 403 agents_only."],
        side_effects=["As the agent heartbeat: last_seen_at set to now, status online, at most one "
                      "agent.heartbeat event a minute."],
        negative_guidance=["Do not rely on the status you send; it is ignored.",
                           "Do not call this and the agent heartbeat in the same cycle."],
        routing_policy=["Prefer agent_heartbeat; this path is kept for older files.",
                        "When you rewrite your files, point them at /api/v1/agent/heartbeat."],
        routing_examples=[routing_example("a cron job posts to /api/v1/agents/heartbeat", "any_agent",
                                          "agent_legacy_heartbeat"),
                          routing_example("set up a new heartbeat loop", "any_agent", "agent_heartbeat")],
        auth=AGENT_SECURITY,
        request=LegacyHeartbeatBodySerializer,
        responses={200: AgentSerializer, **LEGACY_ERRORS},
    )
    def post(self, request: Request) -> Response:
        return self.beat()


class LegacyAgentHeartbeatView(LegacyHeartbeatBase):
    roles = {"POST": ALL_ROLES}

    @agent_operation(
        "agent_legacy_heartbeat_by_id", ALL_ROLES,
        summary="Check in on the older path with your id, POST /api/v1/agents/{agent_id}/heartbeat",
        description="For older workspaces that put their own agent id in the heartbeat path. It does what POST "
                    "/api/v1/agent/heartbeat does; the id must be yours (403 `heartbeat_for_another_agent` "
                    "otherwise) and the body's status is not read.",
        intent="report_alive_older_path_by_id",
        when_to_use=["Your workspace files call the heartbeat with your agent id in the path."],
        when_not_to_use=["Reporting for another agent: each agent checks in with its own token.",
                         "Any new heartbeat loop: call POST /api/v1/agent/heartbeat."],
        prerequisites=["Your agent token.", "Your own agent id in the path (healthz tells it)."],
        side_effects=["As the agent heartbeat: last_seen_at set to now, status online, at most one "
                      "agent.heartbeat event a minute."],
        negative_guidance=["Do not put another agent's id in the path; the answer is 403.",
                           "Do not rely on the status you send; it is ignored."],
        routing_policy=["Prefer agent_heartbeat, which needs no id.",
                        "Use agent_healthz once to learn your id if the files lack it."],
        routing_examples=[routing_example("older file posts to /api/v1/agents/<my id>/heartbeat", "any_agent",
                                          "agent_legacy_heartbeat_by_id"),
                          routing_example("find my own agent id", "any_agent", "agent_healthz")],
        auth=AGENT_SECURITY,
        request=inline_serializer("LegacyAgentHeartbeatBody", fields={
            "status": serializers.CharField(required=False, help_text="Not read: your status follows from your calls."),
        }),
        responses={200: AgentSerializer, **error_responses(401, 403, 404, 429)},
    )
    def post(self, request: Request, agent_id: UUID) -> Response:
        if agent_id != self.agent.pk:
            raise RuleViolation(403, "heartbeat_for_another_agent",
                                "An agent sends its own heartbeat only: the id in the path must be yours "
                                "(GET /api/v1/agent/healthz tells it).", agent_id=str(self.agent.pk))
        return self.beat()
