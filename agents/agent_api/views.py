"""The agent API's views: HTTP in, a call to the domain, HTTP out.

Who may call what is the ``roles`` table of each view (it also feeds the OpenAPI tags);
what a change may do is decided by ``agents.rules``, the same functions the user API
calls.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from agents import presence, rules
from agents.access import boards_for_agent
from agents.agent_api.base import (
    ALL_ROLES,
    BOARD_ROLES,
    LEAD,
    AgentAPIView,
    agent_input,
    agent_task_input,
)
from agents.agent_api.openapi import agent_operation
from agents.models import Agent, Approval, Board, BoardMemory, Tag, Task
from agents.queries import TASK_FILTERS, approval_queryset, filter_tasks
from agents.refusals import RuleViolation
from agents.serializers import (
    AgentSerializer,
    AgentTaskUpdateSerializer,
    AgentTaskWriteSerializer,
    AgentWithTokenSerializer,
    AgentWorkerCreateSerializer,
    ApprovalCreateSerializer,
    ApprovalSerializer,
    BoardMemorySerializer,
    BoardMemoryWriteSerializer,
    BoardSerializer,
    CommentSerializer,
    CommentWriteSerializer,
    TagSerializer,
    TaskSerializer,
)
from missioncontrol.api.query import query_bool, query_choices, query_uuid
from missioncontrol.api.schema import error_responses, ok_response
from missioncontrol.lookups import first_or_none

AUTH_ERRORS = (401, 429)
OK = ok_response("Deleted.")


class AgentHealthSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    agent_id = serializers.UUIDField()
    board_id = serializers.UUIDField(allow_null=True)
    gateway_id = serializers.UUIDField(allow_null=True)
    status = serializers.CharField()
    is_board_lead = serializers.BooleanField()


class AgentHealthView(AgentAPIView):
    roles = {"GET": ALL_ROLES}

    @agent_operation(
        "agent_healthz", ALL_ROLES,
        intent="check_my_credentials",
        when_to_use=["Check that your token works and learn your agent id, board and role."],
        when_not_to_use=["Reporting that you are alive: call the heartbeat instead."],
        responses={200: AgentHealthSerializer, **error_responses(*AUTH_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        agent = self.agent
        return Response({
            "ok": True,
            "agent_id": agent.id,
            "board_id": agent.board_id,
            "gateway_id": agent.gateway_id,
            "status": agent.status,
            "is_board_lead": agent.is_board_lead,
        })


class HeartbeatView(AgentAPIView):
    roles = {"POST": ALL_ROLES}

    @agent_operation(
        "agent_heartbeat", ALL_ROLES,
        intent="report_alive",
        when_to_use=["At the start of every heartbeat cycle, to show you are online."],
        when_not_to_use=["To read tasks or board memory: those have their own operations."],
        request=None,
        responses={200: AgentSerializer, **error_responses(*AUTH_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        agent = presence.heartbeat(self.agent)
        return Response(AgentSerializer(agent).data)


class BoardListView(AgentAPIView):
    roles = {"GET": ALL_ROLES}

    @agent_operation(
        "agent_list_boards", ALL_ROLES,
        intent="list_my_boards",
        when_to_use=["Find the boards you work on (a board agent has one; the main agent sees its organization's)."],
        when_not_to_use=["You already know your board id from healthz and need its details: get the board."],
        responses={200: BoardSerializer(many=True), **error_responses(*AUTH_ERRORS, 422)},
    )
    def get(self, request: Request) -> Response:
        boards = boards_for_agent(self.agent).order_by("name", "id")
        return self.envelope(boards, BoardSerializer)


class BoardDetailView(AgentAPIView):
    roles = {"GET": ALL_ROLES}

    @agent_operation(
        "agent_get_board", ALL_ROLES,
        intent="read_board",
        when_to_use=["Read a board's objective and rules (approval and review requirements) before acting on it."],
        when_not_to_use=["Listing tasks: use the board's task list."],
        responses={200: BoardSerializer, **error_responses(*AUTH_ERRORS, 403, 404)},
    )
    def get(self, request: Request, board_id: UUID) -> Response:
        return Response(BoardSerializer(self.get_board_for_agent(board_id)).data)


class AgentListView(AgentAPIView):
    roles = {"GET": ALL_ROLES, "POST": (LEAD,)}

    @agent_operation(
        "agent_list_agents", ALL_ROLES,
        intent="list_team_agents",
        when_to_use=["See who is on your board (or, as the main agent, in your organization) and who is online."],
        when_not_to_use=["Checking your own status: use healthz."],
        parameters=[OpenApiParameter("board_id", OpenApiTypes.UUID, description="Only the agents of this board.")],
        responses={200: AgentSerializer(many=True), **error_responses(*AUTH_ERRORS, 403, 404, 422)},
    )
    def get(self, request: Request) -> Response:
        agent = self.agent
        # A malformed id is bad input (422), as on every other query filter.
        board_id = query_uuid(request, "board_id")
        if board_id is not None:
            board = self.get_board_for_agent(board_id)
            agents = Agent.objects.filter(board=board)
        elif agent.board_id is not None:
            agents = Agent.objects.filter(board_id=agent.board_id)
        else:
            agents = Agent.objects.filter(organization_id=agent.organization_id)
        return self.envelope(agents.order_by("name", "id"), AgentSerializer)

    @agent_operation(
        "agent_create_worker", (LEAD,),
        intent="create_worker_agent",
        when_to_use=["The board needs another worker for a kind of work nobody on it does."],
        when_not_to_use=["The board already has an idle worker who can take the task: assign it instead."],
        request=AgentWorkerCreateSerializer,
        responses={201: AgentWithTokenSerializer, **error_responses(*AUTH_ERRORS, 403, 409, 422)},
    )
    def post(self, request: Request) -> Response:
        worker, token = rules.create_worker(self.agent, request.data)
        return Response({**AgentSerializer(worker).data, "token": token}, status=status.HTTP_201_CREATED)


class TagListView(AgentAPIView):
    roles = {"GET": BOARD_ROLES}
    pagination_class = None  # the contract gives agents the tags as a plain list

    @agent_operation(
        "agent_list_tags", BOARD_ROLES,
        intent="list_tags",
        when_to_use=["Find tag ids to label tasks you create or update."],
        when_not_to_use=["Board memory tags are free text; they need no tag id."],
        responses={200: TagSerializer(many=True), **error_responses(*AUTH_ERRORS, 403, 404)},
    )
    def get(self, request: Request, board_id: UUID) -> Response:
        board = self.get_board_for_agent(board_id)
        tags = Tag.objects.filter(organization_id=board.organization_id).order_by("name", "id")
        return Response(TagSerializer(tags, many=True).data)


# --- tasks ------------------------------------------------------------------------------------


def task_on_board(board: Board, task_id: Any) -> Task:
    task = first_or_none(Task.objects.filter(board=board), task_id)
    if task is None:
        raise RuleViolation(404, "task_not_found", "No such task on this board.")
    task.board = board  # already loaded and checked
    return task


class TaskListView(AgentAPIView):
    roles = {"GET": BOARD_ROLES, "POST": (LEAD,)}

    @agent_operation(
        "agent_list_tasks", BOARD_ROLES,
        intent="list_board_tasks",
        when_to_use=["Find work: inbox tasks to take (unassigned=true), your own tasks (assigned_agent_id), "
                     "or tasks waiting for review (status=review) as the lead."],
        when_not_to_use=["Reading the conversation on one task: list its comments."],
        parameters=TASK_FILTERS,
        responses={200: TaskSerializer(many=True), **error_responses(*AUTH_ERRORS, 403, 404, 422)},
    )
    def get(self, request: Request, board_id: UUID) -> Response:
        board = self.get_board_for_agent(board_id)
        tasks = filter_tasks(request, Task.objects.filter(board=board)).order_by("-created_at", "id")
        return self.envelope(tasks, TaskSerializer)

    @agent_operation(
        "agent_create_task", (LEAD,),
        intent="create_task",
        when_to_use=["Break the board's objective into a new piece of work, optionally assigned to a worker."],
        when_not_to_use=["The task already exists: update it.", "You are a worker: ask the lead in board chat."],
        request=AgentTaskWriteSerializer,
        responses={201: TaskSerializer, **error_responses(*AUTH_ERRORS, 403, 404, 409, 422)},
    )
    def post(self, request: Request, board_id: UUID) -> Response:
        board = self.get_board_for_agent(board_id)
        data, priority_sent = agent_task_input(AgentTaskWriteSerializer, request)
        task = rules.create_task(self.agent, board, data, priority_sent=priority_sent)
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)


class TaskDetailView(AgentAPIView):
    roles = {"PATCH": BOARD_ROLES, "DELETE": (LEAD,)}

    @agent_operation(
        "agent_update_task", BOARD_ROLES,
        intent="update_task_status",
        when_to_use=["Take a task (in_progress), hand it in (review), finish it (done) or give it back (inbox); "
                     "leads also edit fields and send reviewed work back. A comment may come along."],
        when_not_to_use=["Only commenting: post a comment.", "The task is assigned to another worker."],
        request=AgentTaskUpdateSerializer,
        responses={200: TaskSerializer, **error_responses(*AUTH_ERRORS, 403, 404, 409, 422)},
    )
    def patch(self, request: Request, board_id: UUID, task_id: UUID) -> Response:
        board = self.get_board_for_agent(board_id)
        task = task_on_board(board, task_id)
        changes, priority_sent = agent_task_input(AgentTaskUpdateSerializer, request, partial=True)
        comment = changes.pop("comment", None)
        task = rules.update_task(self.agent, task, changes, comment=comment, priority_sent=priority_sent)
        return Response(TaskSerializer(task).data)

    @agent_operation(
        "agent_delete_task", (LEAD,),
        intent="delete_task",
        when_to_use=["A task was created by mistake or is no longer wanted."],
        when_not_to_use=["The work is finished: mark it done instead, so the record stays readable."],
        responses={200: OK, **error_responses(*AUTH_ERRORS, 403, 404)},
    )
    def delete(self, request: Request, board_id: UUID, task_id: UUID) -> Response:
        board = self.get_board_for_agent(board_id)
        rules.delete_task(self.agent, task_on_board(board, task_id))
        return Response({"ok": True})


class CommentListView(AgentAPIView):
    roles = {"GET": BOARD_ROLES, "POST": BOARD_ROLES}

    @agent_operation(
        "agent_list_task_comments", BOARD_ROLES,
        intent="read_task_comments",
        when_to_use=["Read the discussion on a task before working on it or reviewing it."],
        when_not_to_use=["Board-wide notes and chat: read board memory."],
        responses={200: CommentSerializer(many=True), **error_responses(*AUTH_ERRORS, 403, 404, 422)},
    )
    def get(self, request: Request, board_id: UUID, task_id: UUID) -> Response:
        task = task_on_board(self.get_board_for_agent(board_id), task_id)
        return self.envelope(task.comments.order_by("created_at", "id"), CommentSerializer)

    @agent_operation(
        "agent_create_task_comment", BOARD_ROLES,
        intent="comment_on_task",
        when_to_use=["Report progress, a finding or a question on a task you hold (or, as lead, any task)."],
        when_not_to_use=["Changing the task's status too: send the comment with the status update."],
        request=CommentWriteSerializer,
        responses={201: CommentSerializer, **error_responses(*AUTH_ERRORS, 403, 404, 422)},
    )
    def post(self, request: Request, board_id: UUID, task_id: UUID) -> Response:
        task = task_on_board(self.get_board_for_agent(board_id), task_id)
        comment = rules.add_comment(self.agent, task, agent_input(CommentWriteSerializer, request)["message"])
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


# --- board memory -----------------------------------------------------------------------------


class MemoryListView(AgentAPIView):
    roles = {"GET": ALL_ROLES, "POST": ALL_ROLES}

    @agent_operation(
        "agent_list_board_memory", ALL_ROLES,
        intent="read_board_memory",
        when_to_use=["On every heartbeat: read new notes, chat from people, webhook events and approval decisions."],
        when_not_to_use=["The comments of one task: list that task's comments."],
        parameters=[OpenApiParameter("is_chat", OpenApiTypes.BOOL, description="true: chat only; false: notes only.")],
        responses={200: BoardMemorySerializer(many=True), **error_responses(*AUTH_ERRORS, 403, 404, 422)},
    )
    def get(self, request: Request, board_id: UUID) -> Response:
        board = self.get_board_for_agent(board_id)
        memory = BoardMemory.objects.filter(board=board)
        is_chat = query_bool(request, "is_chat")
        if is_chat is not None:
            memory = memory.filter(is_chat=is_chat)
        return self.envelope(memory.order_by("-created_at", "id"), BoardMemorySerializer)

    @agent_operation(
        "agent_create_board_memory", ALL_ROLES,
        intent="write_board_memory",
        when_to_use=["Leave a note the whole board should know, or answer in board chat (tag it `chat`)."],
        when_not_to_use=["Something about one task: comment on the task."],
        request=BoardMemoryWriteSerializer,
        responses={201: BoardMemorySerializer, **error_responses(*AUTH_ERRORS, 403, 404, 422)},
    )
    def post(self, request: Request, board_id: UUID) -> Response:
        board = self.get_board_for_agent(board_id)
        memory = rules.create_memory(self.agent, board, agent_input(BoardMemoryWriteSerializer, request))
        return Response(BoardMemorySerializer(memory).data, status=status.HTTP_201_CREATED)


# --- approvals --------------------------------------------------------------------------------


class ApprovalListView(AgentAPIView):
    roles = {"GET": BOARD_ROLES, "POST": BOARD_ROLES}

    @agent_operation(
        "agent_list_approvals", BOARD_ROLES,
        intent="list_approvals",
        when_to_use=["Check whether the approval you asked for was approved or rejected before finishing a task."],
        when_not_to_use=["Asking for a new approval: create one."],
        parameters=[OpenApiParameter("status", OpenApiTypes.STR,
                                     description="One status or a comma list (pending,approved,rejected).")],
        responses={200: ApprovalSerializer(many=True), **error_responses(*AUTH_ERRORS, 403, 404, 422)},
    )
    def get(self, request: Request, board_id: UUID) -> Response:
        board = self.get_board_for_agent(board_id)
        approvals = Approval.objects.filter(board=board)
        statuses = query_choices(request, "status", Approval.Status.values)
        if statuses:
            approvals = approvals.filter(status__in=statuses)
        return self.envelope(approval_queryset(approvals).order_by("-created_at", "id"), ApprovalSerializer)

    @agent_operation(
        "agent_create_approval", BOARD_ROLES,
        intent="request_approval",
        when_to_use=["A task needs a person's approval before it can be done, or you want a decision on a risky "
                     "action. Give a reason and your confidence."],
        when_not_to_use=["Approving or rejecting: only people resolve approvals.",
                         "The task already has a pending approval: wait for it."],
        request=ApprovalCreateSerializer,
        responses={201: ApprovalSerializer, **error_responses(*AUTH_ERRORS, 403, 404, 409, 422)},
    )
    def post(self, request: Request, board_id: UUID) -> Response:
        board = self.get_board_for_agent(board_id)
        approval = rules.request_approval(self.agent, board, agent_input(ApprovalCreateSerializer, request))
        return Response(ApprovalSerializer(approval_queryset().get(pk=approval.pk)).data,
                        status=status.HTTP_201_CREATED)
