"""Board groups for people: the groups of their organizations, a group's memory and chat,
the snapshot across its boards, and its heartbeat setting.

A board joins or leaves a group through its own ``board_group_id`` (``PATCH
/api/v1/boards/{id}``). The routes an agent calls from its board (``/boards/{id}/group-memory``
and ``/boards/{id}/group-snapshot``) are in ``agents.agent_api.groups``.
"""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from agents import access, queries, rules
from agents.http import PersonRequest
from agents.models import BoardGroupMemory
from agents.serializers import (
    BoardGroupHeartbeatResultSerializer,
    BoardGroupHeartbeatSerializer,
    BoardGroupMemorySerializer,
    BoardGroupSerializer,
    BoardGroupSnapshotSerializer,
    BoardGroupUpdateSerializer,
    BoardGroupWriteSerializer,
    BoardMemoryWriteSerializer,
)
from missioncontrol.api.query import query_bool
from missioncontrol.api.schema import NO_CONTENT, error_responses
from missioncontrol.api.views import PersonView, paginated, validated

TAGS = ["board-groups"]
IS_CHAT = OpenApiParameter("is_chat", OpenApiTypes.BOOL, description="true: chat only; false: notes only.")


class BoardGroupListView(PersonView):
    @extend_schema(operation_id="board_groups_list", tags=TAGS, summary="Board groups of your organizations",
                   responses={200: BoardGroupSerializer(many=True), **error_responses(401, 403, 422)})
    def get(self, request: PersonRequest) -> Response:
        return paginated(request, access.visible_groups(request.user).order_by("name", "id"), BoardGroupSerializer)

    @extend_schema(operation_id="board_groups_create", tags=TAGS, summary="Create a board group (admins)",
                   request=BoardGroupWriteSerializer,
                   responses={201: BoardGroupSerializer, **error_responses(401, 403, 404, 409, 422)})
    def post(self, request: PersonRequest) -> Response:
        data = validated(BoardGroupWriteSerializer, request)
        org = access.organization_for_create(request.user, data.pop("organization_id", None))
        group = rules.create_group(request.user, org, data)
        return Response(BoardGroupSerializer(group).data, status=status.HTTP_201_CREATED)


class BoardGroupDetailView(PersonView):
    @extend_schema(operation_id="board_groups_retrieve", tags=TAGS, summary="One board group",
                   responses={200: BoardGroupSerializer, **error_responses(401, 403, 404)})
    def get(self, request: PersonRequest, group_id: UUID) -> Response:
        return Response(BoardGroupSerializer(access.get_group_for(request.user, group_id)).data)

    @extend_schema(operation_id="board_groups_update", tags=TAGS,
                   summary="Change a board group or its heartbeat setting (admins)",
                   description="A changed heartbeat setting is written into the heartbeat settings of the agents "
                               "of the group's boards (leads too with heartbeat_include_leads); agents on a gateway "
                               "are provisioned again with it by the worker.",
                   request=BoardGroupUpdateSerializer,
                   responses={200: BoardGroupSerializer, **error_responses(401, 403, 404, 409, 422)})
    def patch(self, request: PersonRequest, group_id: UUID) -> Response:
        group = access.get_group_for(request.user, group_id)
        group = rules.update_group(request.user, group, validated(BoardGroupUpdateSerializer, request))
        return Response(BoardGroupSerializer(group).data)

    @extend_schema(operation_id="board_groups_destroy", tags=TAGS,
                   summary="Delete a board group and its memory; its boards stay, ungrouped (admins)",
                   responses={**NO_CONTENT, **error_responses(401, 403, 404)})
    def delete(self, request: PersonRequest, group_id: UUID) -> Response:
        rules.delete_group(request.user, access.get_group_for(request.user, group_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BoardGroupMemoryView(PersonView):
    @extend_schema(operation_id="board_group_memory_list", tags=TAGS,
                   summary="Notes and chat of a board group, newest first", parameters=[IS_CHAT],
                   description="Only for those who may read every board of the group (403 "
                               "board_group_memory_restricted otherwise).",
                   responses={200: BoardGroupMemorySerializer(many=True), **error_responses(401, 403, 404, 422)})
    def get(self, request: PersonRequest, group_id: UUID) -> Response:
        group = access.get_group_for(request.user, group_id)
        access.check_group_memory(request.user, group)
        memory = BoardGroupMemory.objects.filter(group=group)
        is_chat = query_bool(request, "is_chat")
        if is_chat is not None:
            memory = memory.filter(is_chat=is_chat)
        return paginated(request, memory.order_by("-created_at", "id"), BoardGroupMemorySerializer)

    @extend_schema(operation_id="board_group_memory_create", tags=TAGS,
                   summary="Write a group note or, tagged `chat`, a group chat message",
                   description="Every agent of the group's boards reads it. Chat reaches the lead of each board "
                               "and the agents it mentions; the tag `broadcast` or `@all` reaches every agent. "
                               "Only for those who may work on every board of the group (403 "
                               "board_group_memory_read_only or board_group_memory_restricted otherwise).",
                   request=BoardMemoryWriteSerializer,
                   responses={201: BoardGroupMemorySerializer, **error_responses(401, 403, 404, 422)})
    def post(self, request: PersonRequest, group_id: UUID) -> Response:
        group = access.get_group_for(request.user, group_id)
        memory = rules.create_group_memory(request.user, group, validated(BoardMemoryWriteSerializer, request))
        return Response(BoardGroupMemorySerializer(memory).data, status=status.HTTP_201_CREATED)


class BoardGroupSnapshotView(PersonView):
    @extend_schema(operation_id="board_groups_snapshot", tags=TAGS,
                   summary="Every board of a group with its task counts and its most pressing tasks",
                   parameters=queries.GROUP_SNAPSHOT_PARAMETERS,
                   responses={200: BoardGroupSnapshotSerializer, **error_responses(401, 403, 404, 422)})
    def get(self, request: PersonRequest, group_id: UUID) -> Response:
        group = access.get_group_for(request.user, group_id)
        include_done, limit = queries.group_snapshot_options(request)
        snapshot = queries.group_snapshot(group, include_done=include_done, per_board_task_limit=limit,
                                          within=access.visible_boards(request.user))
        return Response(BoardGroupSnapshotSerializer(snapshot).data)


class BoardGroupHeartbeatView(PersonView):
    @extend_schema(operation_id="board_groups_heartbeat", tags=TAGS,
                   summary="Give the agents of a group's boards one heartbeat interval (admins)",
                   description="Sets the group's heartbeat setting to `every` (leads included with "
                               "include_board_leads) and writes it into the heartbeat settings of every agent it "
                               "covers (updated_agent_ids: those whose setting changed); agents on a gateway are provisioned again with it by the worker.",
                   request=BoardGroupHeartbeatSerializer,
                   responses={200: BoardGroupHeartbeatResultSerializer, **error_responses(401, 403, 404, 422)})
    def post(self, request: PersonRequest, group_id: UUID) -> Response:
        group = access.get_group_for(request.user, group_id)
        data = validated(BoardGroupHeartbeatSerializer, request)
        group, updated = rules.set_heartbeat(request.user, group, data)
        return Response(BoardGroupHeartbeatResultSerializer({
            "board_group_id": group.pk,
            "requested": {"every": group.heartbeat_every, "include_board_leads": group.heartbeat_include_leads},
            "updated_agent_ids": [agent.pk for agent in updated], "failed_agent_ids": []}).data)
