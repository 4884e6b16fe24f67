from __future__ import annotations

from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from agents import access, rules
from agents.api.base import AGENT_READ_NOTE, AgentReadableView, board_for_caller
from agents.http import PersonOrAgentRequest, PersonRequest
from agents.models import BoardMemory
from agents.serializers import BoardMemorySerializer, BoardMemoryWriteSerializer
from missioncontrol.api.query import query_bool
from missioncontrol.api.schema import error_responses
from missioncontrol.api.views import paginated, validated

TAGS = ["memory"]


class BoardMemoryListView(AgentReadableView):
    @extend_schema(operation_id="board_memory_list", tags=TAGS, summary="Notes and chat of a board, newest first",
                   description=AGENT_READ_NOTE,
                   parameters=[OpenApiParameter("is_chat", OpenApiTypes.BOOL,
                                                description="true: chat only; false: notes only.")],
                   responses={200: BoardMemorySerializer(many=True), **error_responses(401, 403, 404, 422, 429)})
    def get(self, request: PersonOrAgentRequest, board_id: UUID) -> Response:
        board = board_for_caller(request.user, board_id)
        memory = BoardMemory.objects.filter(board=board)
        is_chat = query_bool(request, "is_chat")
        if is_chat is not None:
            memory = memory.filter(is_chat=is_chat)
        return paginated(request, memory.order_by("-created_at", "id"), BoardMemorySerializer)

    @extend_schema(operation_id="board_memory_create", tags=TAGS,
                   summary="Write a note or, tagged `chat`, a chat message",
                   request=BoardMemoryWriteSerializer,
                   responses={201: BoardMemorySerializer, **error_responses(401, 403, 404, 422)})
    def post(self, request: PersonRequest, board_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        memory = rules.create_memory(request.user, board, validated(BoardMemoryWriteSerializer, request))
        return Response(BoardMemorySerializer(memory).data, status=status.HTTP_201_CREATED)
