from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from agents import access, rules
from agents.api.base import AGENT_READ_NOTE, AgentReadableView, board_for_caller, object_on_board
from agents.http import PersonOrAgentRequest, PersonRequest
from agents.models import Task
from agents.queries import TASK_FILTERS, filter_tasks
from agents.serializers import (
    CommentSerializer,
    CommentWriteSerializer,
    TaskPlaceSerializer,
    TaskReorderSerializer,
    TaskSerializer,
    TaskUpdateSerializer,
    TaskWriteSerializer,
)
from missioncontrol.api.schema import NO_CONTENT, error_responses
from missioncontrol.api.views import PersonView, paginated, validated

TAGS = ["tasks"]


class TaskListView(AgentReadableView):
    @extend_schema(operation_id="tasks_list", tags=TAGS, summary="Tasks of a board, newest first",
                   description=AGENT_READ_NOTE, parameters=TASK_FILTERS,
                   responses={200: TaskSerializer(many=True), **error_responses(401, 403, 404, 422, 429)})
    def get(self, request: PersonOrAgentRequest, board_id: UUID) -> Response:
        board = board_for_caller(request.user, board_id)
        tasks = filter_tasks(request, Task.objects.filter(board=board), board).order_by("-created_at", "id")
        return paginated(request, tasks, TaskSerializer)

    @extend_schema(operation_id="tasks_create", tags=TAGS, summary="Create a task",
                   request=TaskWriteSerializer,
                   responses={201: TaskSerializer, **error_responses(401, 403, 404, 409, 422)})
    def post(self, request: PersonRequest, board_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        task = rules.create_task(request.user, board, validated(TaskWriteSerializer, request))
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)


class TaskDetailView(PersonView):
    @extend_schema(operation_id="tasks_retrieve", tags=TAGS, summary="One task",
                   responses={200: TaskSerializer, **error_responses(401, 403, 404)})
    def get(self, request: PersonRequest, board_id: UUID, task_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        return Response(TaskSerializer(object_on_board(Task, board, task_id)).data)

    @extend_schema(operation_id="tasks_update", tags=TAGS,
                   summary="Change a task (partial); a comment may come with it",
                   request=TaskUpdateSerializer,
                   responses={200: TaskSerializer, **error_responses(401, 403, 404, 409, 422)})
    def patch(self, request: PersonRequest, board_id: UUID, task_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        task = object_on_board(Task, board, task_id)
        changes = validated(TaskUpdateSerializer, request, partial=True)
        comment = changes.pop("comment", None)
        task = rules.update_task(request.user, task, changes, comment=comment)
        return Response(TaskSerializer(task).data)

    @extend_schema(operation_id="tasks_destroy", tags=TAGS, summary="Delete a task; its history stays",
                   responses={**NO_CONTENT, **error_responses(401, 403, 404)})
    def delete(self, request: PersonRequest, board_id: UUID, task_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        rules.delete_task(request.user, object_on_board(Task, board, task_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaskReorderView(PersonView):
    @extend_schema(operation_id="tasks_reorder", tags=TAGS, summary="Move a task one place up or down in its column",
                   description=("The board shows each column in this order (the console's up and down buttons "
                                "make the same move). A task that changes column goes to the top of the new one. "
                                "Members of the organization may order any column; 409 when the task is already "
                                "first (moving up) or last (moving down)."),
                   request=TaskReorderSerializer,
                   responses={200: TaskPlaceSerializer, **error_responses(401, 403, 404, 409, 422)})
    def post(self, request: PersonRequest, board_id: UUID, task_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        task = object_on_board(Task, board, task_id)
        direction = validated(TaskReorderSerializer, request)["direction"]
        position = rules.move_task_within_column(request.user, task, direction)
        task.refresh_from_db(fields=["status"])
        return Response({"task_id": str(task.pk), "status": task.status, "position": position})


class CommentListView(PersonView):
    @extend_schema(operation_id="task_comments_list", tags=TAGS, summary="Comments on a task, oldest first",
                   responses={200: CommentSerializer(many=True), **error_responses(401, 403, 404, 422)})
    def get(self, request: PersonRequest, board_id: UUID, task_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        task = object_on_board(Task, board, task_id)
        return paginated(request, task.comments.order_by("created_at", "id"), CommentSerializer)

    @extend_schema(operation_id="task_comments_create", tags=TAGS, summary="Comment on a task",
                   request=CommentWriteSerializer,
                   responses={201: CommentSerializer, **error_responses(401, 403, 404, 422)})
    def post(self, request: PersonRequest, board_id: UUID, task_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        task = object_on_board(Task, board, task_id)
        comment = rules.add_comment(request.user, task, validated(CommentWriteSerializer, request)["message"])
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)
