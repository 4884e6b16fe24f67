from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils.text import slugify
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from agents import access, activity
from agents.api.base import (
    PersonView,
    apply_changes,
    organization_for_create,
    paginated,
    save_unique,
    validated,
)
from agents.api.snapshot import BoardSnapshotSerializer, board_snapshot
from agents.models import Board, Gateway, Organization
from agents.serializers import BoardSerializer, BoardUpdateSerializer, BoardWriteSerializer
from missioncontrol.api.schema import NO_CONTENT, error_responses

TAGS = ["boards"]
SLUG_TAKEN = ("board_slug_taken", "Another board of this organization already uses that slug.")


def _resolve_gateway(data: dict[str, Any], organization_id: Any) -> None:
    if "gateway_id" not in data:
        return
    gateway_id = data.pop("gateway_id")
    if gateway_id is None:
        data["gateway"] = None
        return
    gateway = Gateway.objects.filter(pk=gateway_id, organization_id=organization_id).first()
    if gateway is None:
        raise ValidationError({"gateway_id": ["No such gateway in this organization."]})
    data["gateway"] = gateway


class BoardListView(PersonView):
    @extend_schema(operation_id="boards_list", tags=TAGS, summary="Boards of your organizations",
                   responses={200: BoardSerializer(many=True), **error_responses(401, 403, 422)})
    def get(self, request: Request) -> Response:
        return paginated(request, access.visible_boards(request.user).order_by("name", "id"), BoardSerializer)

    @extend_schema(operation_id="boards_create", tags=TAGS, summary="Create a board (admins)",
                   request=BoardWriteSerializer,
                   responses={201: BoardSerializer, **error_responses(401, 403, 404, 409, 422)})
    def post(self, request: Request) -> Response:
        data = validated(BoardWriteSerializer, request)
        org: Organization = organization_for_create(request.user, data.pop("organization_id", None))
        _resolve_gateway(data, org.pk)
        data.setdefault("slug", slugify(data["name"])[:200] or "board")

        def create() -> Board:
            board = Board.objects.create(organization=org, **data)
            activity.record("board.created", actor=request.user, board=board, message=f"Board {board.name} created")
            return board

        board = save_unique(*SLUG_TAKEN, create)
        return Response(BoardSerializer(board).data, status=status.HTTP_201_CREATED)


class BoardDetailView(PersonView):
    @extend_schema(operation_id="boards_retrieve", tags=TAGS, summary="One board",
                   responses={200: BoardSerializer, **error_responses(401, 403, 404)})
    def get(self, request: Request, board_id: UUID) -> Response:
        return Response(BoardSerializer(access.get_board_for(request.user, board_id)).data)

    @extend_schema(operation_id="boards_update", tags=TAGS, summary="Change a board and its rules (admins)",
                   request=BoardUpdateSerializer,
                   responses={200: BoardSerializer, **error_responses(401, 403, 404, 409, 422)})
    def patch(self, request: Request, board_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id, admin=True)
        data = validated(BoardUpdateSerializer, request)
        _resolve_gateway(data, board.organization_id)
        changed = apply_changes(board, data)

        def save() -> None:
            board.save()
            activity.record("board.updated", actor=request.user, board=board,
                            message=f"Board {board.name} changed", data={"fields": changed})

        save_unique(*SLUG_TAKEN, save)
        return Response(BoardSerializer(board).data)

    @extend_schema(operation_id="boards_destroy", tags=TAGS, summary="Delete a board with its tasks (admins)",
                   responses={**NO_CONTENT, **error_responses(401, 403, 404)})
    def delete(self, request: Request, board_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id, admin=True)
        with transaction.atomic():
            activity.record("board.deleted", actor=request.user, board=board, message=f"Board {board.name} deleted")
            board.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class BoardSnapshotView(PersonView):
    @extend_schema(operation_id="boards_snapshot", tags=TAGS,
                   summary="The board with all its tasks, agents and pending approvals",
                   responses={200: BoardSnapshotSerializer, **error_responses(401, 403, 404)})
    def get(self, request: Request, board_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        return Response(BoardSnapshotSerializer(board_snapshot(board)).data)
