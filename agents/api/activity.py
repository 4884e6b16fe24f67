from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from agents import access
from agents.api.base import AGENT_READ_NOTE, AgentReadableView
from agents.http import PersonOrAgentRequest
from agents.models import Agent
from agents.serializers import ActivityEventSerializer
from missioncontrol.api.query import query_uuid
from missioncontrol.api.schema import error_responses
from missioncontrol.api.views import paginated


class ActivityListView(AgentReadableView):
    @extend_schema(operation_id="activity_list", tags=["activity"],
                   summary="What happened in your organizations, newest first",
                   description=AGENT_READ_NOTE + " An agent reads the events of its own board (the main agent: "
                               "of its organization); a board_id outside that is 403 `board_out_of_reach`.",
                   parameters=[
                       OpenApiParameter("board_id", OpenApiTypes.UUID, description="Only events of this board."),
                       OpenApiParameter("event_type", OpenApiTypes.STR,
                                        description="One event type or a comma list, like task.status_changed."),
                   ],
                   responses={200: ActivityEventSerializer(many=True), **error_responses(401, 403, 404, 422, 429)})
    def get(self, request: PersonOrAgentRequest) -> Response:
        caller = request.user
        board_id = query_uuid(request, "board_id")
        if isinstance(caller, Agent):
            events = access.activity_for_agent(caller, board_id)
        else:
            events = access.visible_activity(caller)
            if board_id is not None:
                # Deleted boards keep their history, so the id is not checked against live boards.
                events = events.filter(board_id=board_id)
        event_types = [part.strip() for part in request.query_params.get("event_type", "").split(",") if part.strip()]
        if event_types:
            events = events.filter(event_type__in=event_types)
        return paginated(request, events.order_by("-created_at", "-id"), ActivityEventSerializer)
