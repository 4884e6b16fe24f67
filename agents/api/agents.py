from __future__ import annotations

from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from agents import access, rules
from agents.http import PersonRequest
from agents.serializers import (
    AgentCreateSerializer,
    AgentDetailSerializer,
    AgentDetailWithTokenSerializer,
    AgentUpdateSerializer,
    TokenRotateSerializer,
    TokenSerializer,
)
from missioncontrol.api.query import query_uuid
from missioncontrol.api.schema import NO_CONTENT, error_responses
from missioncontrol.api.views import PersonView, paginated, validated

TAGS = ["agents"]


class AgentListView(PersonView):
    @extend_schema(operation_id="agents_list", tags=TAGS, summary="Agents of your organizations",
                   parameters=[OpenApiParameter("board_id", OpenApiTypes.UUID, description="Only this board's agents."),
                               OpenApiParameter("gateway_id", OpenApiTypes.UUID,
                                                description="Only this gateway's agents.")],
                   responses={200: AgentDetailSerializer(many=True), **error_responses(401, 403, 422)})
    def get(self, request: PersonRequest) -> Response:
        agents = access.visible_agents(request.user)
        board_id, gateway_id = query_uuid(request, "board_id"), query_uuid(request, "gateway_id")
        if board_id is not None:
            agents = agents.filter(board_id=board_id)
        if gateway_id is not None:
            agents = agents.filter(gateway_id=gateway_id)
        return paginated(request, agents.order_by("name", "id"), AgentDetailSerializer)

    @extend_schema(operation_id="agents_create", tags=TAGS,
                   summary="Create an agent (admins); its token is in the answer, once",
                   request=AgentCreateSerializer,
                   responses={201: AgentDetailWithTokenSerializer, **error_responses(401, 403, 404, 409, 422)})
    def post(self, request: PersonRequest) -> Response:
        agent, token = rules.add_agent(request.user, validated(AgentCreateSerializer, request))
        return Response({**AgentDetailSerializer(agent).data, "token": token}, status=status.HTTP_201_CREATED)


class AgentDetailView(PersonView):
    @extend_schema(operation_id="agents_retrieve", tags=TAGS, summary="One agent",
                   responses={200: AgentDetailSerializer, **error_responses(401, 403, 404)})
    def get(self, request: PersonRequest, agent_id: UUID) -> Response:
        return Response(AgentDetailSerializer(access.get_agent_for(request.user, agent_id)).data)

    @extend_schema(operation_id="agents_update", tags=TAGS, summary="Change an agent (admins)",
                   request=AgentUpdateSerializer,
                   responses={200: AgentDetailSerializer, **error_responses(401, 403, 404, 409, 422)})
    def patch(self, request: PersonRequest, agent_id: UUID) -> Response:
        agent = access.get_agent_for(request.user, agent_id)
        agent = rules.update_agent(request.user, agent, validated(AgentUpdateSerializer, request, partial=True))
        return Response(AgentDetailSerializer(agent).data)

    @extend_schema(operation_id="agents_destroy", tags=TAGS, summary="Delete an agent (admins)",
                   responses={**NO_CONTENT, **error_responses(401, 403, 404)})
    def delete(self, request: PersonRequest, agent_id: UUID) -> Response:
        rules.delete_agent(request.user, access.get_agent_for(request.user, agent_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AgentTokenView(PersonView):
    @extend_schema(operation_id="agents_rotate_token", tags=TAGS,
                   summary="Give the agent a new token (admins)",
                   description="The old token stops working at once, unless the agent's workspace on a gateway "
                               "holds it: then it keeps working until the agent first calls with the new one "
                               "(which the worker writes into the workspace) or an hour has passed. "
                               "`revoke_previous: true` ends it at once anyway.",
                   request=TokenRotateSerializer, responses={200: TokenSerializer, **error_responses(401, 403, 404, 422)})
    def post(self, request: PersonRequest, agent_id: UUID) -> Response:
        agent = access.get_agent_for(request.user, agent_id)
        # No body is the same as {}; a body that is not an object (null, false) is a 422.
        options = validated(TokenRotateSerializer, request)
        token = rules.rotate_token(request.user, agent, revoke_previous=options["revoke_previous"])
        return Response({"token": token, "previous_token_valid_until": agent.previous_token_expires_at})


class AgentProvisionView(PersonView):
    @extend_schema(operation_id="agents_provision", tags=TAGS, request=None,
                   summary="Retry provisioning the agent on its gateway (admins)",
                   description="Starts a new provisioning run in the worker: the agent's lifecycle shows "
                               "`provisioning` or `updating`, then `waiting` for its check-in.",
                   responses={202: AgentDetailSerializer, **error_responses(401, 403, 404, 409)})
    def post(self, request: PersonRequest, agent_id: UUID) -> Response:
        agent = rules.retry_provisioning(request.user, access.get_agent_for(request.user, agent_id))
        return Response(AgentDetailSerializer(agent).data, status=status.HTTP_202_ACCEPTED)
