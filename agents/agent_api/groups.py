"""A board's group, as its agents (and people) reach it from the board: the group's memory
and chat, and the snapshot of the group's other boards.

The paths are the ones the earlier server's workspace files name,
``/api/v1/boards/{board_id}/group-memory`` and ``/group-snapshot``, under the user API's
prefix; an agent calls them with its own token, a person with theirs. Agents: the lead and
workers of the board (the main agent is refused). A board in no group answers an empty
page and an empty snapshot, not 404, so an agent's loop runs the same on every board.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import access, queries, rules
from agents.agent_api.base import BOARD_ROLES, AgentAPIView
from agents.agent_api.openapi import agent_operation, routing_example
from agents.authentication import AgentTokenAuthentication
from agents.models import Agent, Board, BoardGroupMemory, User
from agents.refusals import RuleViolation
from agents.serializers import (
    BoardGroupMemorySerializer,
    BoardGroupSnapshotSerializer,
    BoardMemoryWriteSerializer,
)
from missioncontrol.api.query import query_bool
from missioncontrol.api.schema import error_responses
from missioncontrol.api.views import IsPerson, PersonView, validated

PEOPLE_TOO = ("People of the board's organization call it with their own credentials as well. A board in no group "
              "answers an empty result, not 404.")
ERRORS = error_responses(401, 403, 404, 422, 429)
MEMORY_FIELDS = ("content", "tags", "source")


class IsPersonOrAgent(BasePermission):
    """A signed-in person, or an agent (its role is checked by the view)."""

    message = "Send your agent token (X-Agent-Token or Authorization: Bearer) or a person's credentials."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, Agent) or IsPerson().has_permission(request, view)


class BoardGroupRouteView(AgentAPIView):
    """People's authentication classes come first (their 401 challenge is the route's),
    then the agent's; an agent must be the board's lead or a worker of it."""

    permission_classes = [IsPersonOrAgent]
    roles = {"GET": BOARD_ROLES, "POST": BOARD_ROLES}

    def get_authenticators(self) -> list[BaseAuthentication]:
        return [*(auth() for auth in PersonView.authentication_classes), AgentTokenAuthentication()]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        APIView.initial(self, request, *args, **kwargs)
        if isinstance(request.user, Agent):
            self.check_role(self.roles.get(request.method or "", BOARD_ROLES))

    @property
    def caller(self) -> User | Agent:
        user: User | Agent = self.request.user  # type: ignore[assignment]  # IsPersonOrAgent let only these in
        return user

    def board(self, board_id: UUID) -> Board:
        caller = self.caller
        if isinstance(caller, Agent):
            return self.get_board_for_agent(board_id)
        return access.get_board_for(caller, board_id)


def _group(board: Board) -> Any:
    return board.group if board.group_id is not None else None


class BoardGroupMemoryView(BoardGroupRouteView):
    @agent_operation(
        "agent_list_group_memory", BOARD_ROLES,
        summary="Group memory: notes and chat shared by every board of your board's group, newest first",
        description="A page of `{id, board_group_id, board_id, content, tags, is_chat, source, created_at}` from the "
                    "memory of the group your board is in; is_chat=true for chat only, false for notes only. "
                    + PEOPLE_TOO,
        intent="read_group_memory",
        when_to_use=["Each heartbeat on a grouped board, after your board's memory: what the other boards said.",
                     "Before work that may touch another board of the group: decisions already taken there."],
        when_not_to_use=["Your own board's notes and chat: read agent_list_board_memory.",
                         "A board in no group: the page is always empty."],
        prerequisites=["Your board id; you are its lead or one of its workers."],
        side_effects=["None: read only."],
        negative_guidance=["Do not page through all history each heartbeat; read the newest with limit=20.",
                           "Do not act on another board's tasks from what you read here; ask in group chat."],
        routing_policy=["Read after agent_list_board_memory on a grouped board.",
                        "Write cross-board messages with agent_create_group_memory."],
        routing_examples=[routing_example("what did the other boards of my group decide", "board_lead_or_worker",
                                          "agent_list_group_memory"),
                          routing_example("what is new on my own board", "any_agent", "agent_list_board_memory")],
        parameters=[OpenApiParameter("is_chat", OpenApiTypes.BOOL, description="true: chat only; false: notes only.")],
        responses={200: BoardGroupMemorySerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, board_id: UUID) -> Response:
        board = self.board(board_id)
        is_chat = query_bool(request, "is_chat")  # read on every board: a bad value is 422 everywhere
        if board.group_id is None:
            memory = BoardGroupMemory.objects.none()
        else:
            caller = self.caller
            if isinstance(caller, User):  # a person reaching only some of the group's boards: 403
                access.check_group_memory(caller, _group(board))
            memory = BoardGroupMemory.objects.filter(group_id=board.group_id)
            if is_chat is not None:
                memory = memory.filter(is_chat=is_chat)
        return self.envelope(memory.order_by("-created_at", "id"), BoardGroupMemorySerializer)

    @agent_operation(
        "agent_create_group_memory", BOARD_ROLES,
        summary="Write to your board group's memory, or its chat with the tag chat",
        description="Adds `{content, tags?, source?}` to the memory of the group your board is in, which the agents "
                    "of every board of the group read. The tag chat makes it group chat: the lead of each board "
                    "and the agents it @mentions are told; the tag broadcast or @all tells every agent of the group. "
                    "A board in no group: 409 `board_not_in_group`. " + PEOPLE_TOO.split(". ")[0] + ".",
        intent="write_group_memory",
        when_to_use=["Telling the other boards of the group something they depend on: an interface change, a "
                     "shared deadline.",
                     "Asking another board's lead for something in group chat: tags [\"chat\"] and @their name."],
        when_not_to_use=["Something only your board needs: write agent_create_board_memory.",
                         "Something about one task: comment on the task."],
        prerequisites=["Your board is in a group.", "Content that is not blank."],
        side_effects=["Adds a group memory entry every agent of the group reads; writes a board_group.memory_created "
                      "event; chat is pushed to the boards' leads and to the agents mentioned."],
        negative_guidance=["Never put tokens or secrets in group memory.",
                           "Do not broadcast what the leads alone need to know."],
        routing_policy=["Cross-board messages go here; board-only ones to agent_create_board_memory.",
                        "Read agent_list_group_memory first: the answer may already be there."],
        routing_examples=[routing_example("tell the other boards the API changes on Friday", "board_lead_or_worker",
                                          "agent_create_group_memory"),
                          routing_example("note a decision for my own board", "any_agent",
                                          "agent_create_board_memory")],
        request=BoardMemoryWriteSerializer,
        responses={201: BoardGroupMemorySerializer, **error_responses(401, 403, 404, 409, 422, 429)},
    )
    def post(self, request: Request, board_id: UUID) -> Response:
        board = self.board(board_id)
        data = request.data
        if isinstance(data, dict):
            # Read as the agent routes read bodies: unknown keys ignored, null as not given.
            data = {name: value for name, value in data.items() if name in MEMORY_FIELDS and value is not None}
        group = _group(board)
        values = validated(BoardMemoryWriteSerializer, request, data=data)
        if group is None:
            raise RuleViolation(409, "board_not_in_group", "This board is in no group: there is no group memory "
                                "to write to. Write to the board's own memory instead.")
        memory = rules.create_group_memory(self.caller, group, values, board=board)
        return Response(BoardGroupMemorySerializer(memory).data, status=201)


class BoardGroupSnapshotView(BoardGroupRouteView):
    @agent_operation(
        "agent_group_snapshot", BOARD_ROLES,
        summary="The other boards of your board's group: task counts and their most pressing tasks",
        description="`{group, boards: [{board, task_counts, tasks}]}`: the group your board is in and each of its "
                    "other boards (yours too with include_self=true), with its task counts by status and its first "
                    "tasks (in progress, review, then inbox; by priority) as `{id, board_id, board_name, title, "
                    "status, priority, assigned_agent_id, assignee, due_at, in_progress_at, tags, created_at, "
                    "updated_at}`. A board in no group: `{\"group\": null, \"boards\": []}`. " + PEOPLE_TOO.split(". ")[0]
                    + ".",
        intent="read_group_snapshot",
        when_to_use=["Before significant work on a grouped board: what the other boards are doing, to avoid "
                     "overlap and to see dependencies.",
                     "A lead planning: which boards of the group are busy or blocked."],
        when_not_to_use=["Your own board's tasks: list them with agent_list_tasks.",
                         "Changing another board's tasks: you cannot; ask in group chat."],
        prerequisites=["Your board id; you are its lead or one of its workers."],
        side_effects=["None: read only."],
        negative_guidance=["Treat the other boards' tasks as read-only context.",
                           "Do not raise per_board_task_limit above what you will read."],
        routing_policy=["Read it once a heartbeat at most, with the defaults.",
                        "Coordinate what you find with agent_create_group_memory."],
        routing_examples=[routing_example("is another board of my group already doing this", "board_lead_or_worker",
                                          "agent_group_snapshot"),
                          routing_example("ask the other board's lead to hold off", "board_lead_or_worker",
                                          "agent_create_group_memory")],
        parameters=[OpenApiParameter("include_self", OpenApiTypes.BOOL,
                                     description="true: your own board is listed too (default false)."),
                    *queries.GROUP_SNAPSHOT_PARAMETERS],
        responses={200: BoardGroupSnapshotSerializer, **ERRORS},
    )
    def get(self, request: Request, board_id: UUID) -> Response:
        board = self.board(board_id)
        include_done, limit = queries.group_snapshot_options(request)
        include_self = bool(query_bool(request, "include_self"))
        snapshot = queries.group_snapshot(_group(board), exclude_board_id=None if include_self else board.pk,
                                          include_done=include_done, per_board_task_limit=limit)
        return Response(BoardGroupSnapshotSerializer(snapshot).data)
