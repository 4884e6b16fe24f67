from __future__ import annotations

from uuid import UUID

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from agents import access, rules
from agents.api.base import AGENT_READ_NOTE, AgentReadableView, board_for_caller
from agents.api.snapshot import (
    MAX_TASKS_OFFSET,
    MAX_TASKS_PAGE,
    BoardSnapshotSerializer,
    snapshot_json,
    tasks_page,
)
from agents.http import PersonOrAgentRequest, PersonRequest
from agents.serializers import BoardSerializer, BoardUpdateSerializer, BoardWriteSerializer
from missioncontrol.api.query import query_uuid
from missioncontrol.api.schema import NO_CONTENT, error_responses
from missioncontrol.api.views import PersonView, paginated, validated

TAGS = ["boards"]


class BoardListView(PersonView):
    @extend_schema(operation_id="boards_list", tags=TAGS, summary="Boards of your organizations",
                   parameters=[OpenApiParameter("board_group_id", OpenApiTypes.UUID,
                                                description="Only the boards of this board group.")],
                   responses={200: BoardSerializer(many=True), **error_responses(401, 403, 422)})
    def get(self, request: PersonRequest) -> Response:
        boards = access.visible_boards(request.user)
        group_id = query_uuid(request, "board_group_id")
        if group_id is not None:
            boards = boards.filter(group_id=group_id)
        return paginated(request, boards.order_by("name", "id"), BoardSerializer)

    @extend_schema(operation_id="boards_create", tags=TAGS, summary="Create a board (admins)",
                   request=BoardWriteSerializer,
                   responses={201: BoardSerializer, **error_responses(401, 403, 404, 409, 422)})
    def post(self, request: PersonRequest) -> Response:
        data = validated(BoardWriteSerializer, request)
        org = access.organization_for_create(request.user, data.pop("organization_id", None))
        board = rules.create_board(request.user, org, data)
        return Response(BoardSerializer(board).data, status=status.HTTP_201_CREATED)


class BoardDetailView(PersonView):
    @extend_schema(operation_id="boards_retrieve", tags=TAGS, summary="One board",
                   responses={200: BoardSerializer, **error_responses(401, 403, 404)})
    def get(self, request: PersonRequest, board_id: UUID) -> Response:
        return Response(BoardSerializer(access.get_board_for(request.user, board_id)).data)

    @extend_schema(operation_id="boards_update", tags=TAGS, summary="Change a board and its rules (admins)",
                   request=BoardUpdateSerializer,
                   responses={200: BoardSerializer, **error_responses(401, 403, 404, 409, 422)})
    def patch(self, request: PersonRequest, board_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        board = rules.update_board(request.user, board, validated(BoardUpdateSerializer, request))
        return Response(BoardSerializer(board).data)

    @extend_schema(operation_id="boards_destroy", tags=TAGS, summary="Delete a board with its tasks (admins)",
                   responses={**NO_CONTENT, **error_responses(401, 403, 404)})
    def delete(self, request: PersonRequest, board_id: UUID) -> Response:
        rules.delete_board(request.user, access.get_board_for(request.user, board_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BoardSnapshotView(AgentReadableView):
    @extend_schema(operation_id="boards_snapshot", tags=TAGS,
                   summary="The board with all its tasks, agents and pending approvals",
                   description=AGENT_READ_NOTE,
                   parameters=[
                       OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_TASKS_PAGE},
                                        description=(f"Tasks per page, 1 to {MAX_TASKS_PAGE}, newest first; "
                                                     "without it, every task.")),
                       OpenApiParameter("offset", {"type": "integer", "minimum": 0, "maximum": MAX_TASKS_OFFSET},
                                        description="Tasks to skip before the page."),
                   ],
                   responses={200: BoardSnapshotSerializer, **error_responses(401, 403, 404, 422, 429)})
    def get(self, request: PersonOrAgentRequest, board_id: UUID) -> HttpResponse:
        board = board_for_caller(request.user, board_id)
        limit, offset = tasks_page(request)
        # Written as JSON directly (agents.api.snapshot): the one renderer is JSON.
        return HttpResponse(snapshot_json(board, limit=limit, offset=offset), content_type="application/json")
