"""The board snapshot: everything the board page needs, in a fixed number of queries.

Relations are read per board (one query each for dependencies, tags, approval counts),
never per task, so a board of 10,000 tasks costs the same number of queries as one of 10.

Without paging parameters the snapshot holds every task, as agents have always read it.
``?limit=N&offset=M`` (1 <= N <= ``MAX_TASKS_PAGE``) asks for one page of the tasks in the
same order (newest first); the relations are then read for that page only, and
``tasks_total`` says how many there are in all.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Q
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from agents.models import Agent, Approval, ApprovalTask, Board, Task
from agents.queries import TaskRow, approval_queryset, load_task_relations
from agents.serializers import (
    AgentSerializer,
    ApprovalSerializer,
    BoardCustomFieldSerializer,
    BoardSerializer,
    TaskSerializer,
)


class SnapshotTaskSerializer(TaskSerializer):
    assignee_name = serializers.CharField(read_only=True, allow_null=True)
    approvals_count = serializers.IntegerField(read_only=True)
    pending_approvals_count = serializers.IntegerField(read_only=True)

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "assignee_name", "approvals_count", "pending_approvals_count"]
        read_only_fields = fields

    def to_representation(self, task: Task | TaskRow) -> dict[str, Any]:
        return {**super().to_representation(task), "assignee_name": getattr(task, "assignee_name", None),
                "approvals_count": task.approvals_count,
                "pending_approvals_count": task.pending_approvals_count}


MAX_TASKS_PAGE = 1000
MAX_TASKS_OFFSET = 10**9


class BoardSnapshotSerializer(serializers.Serializer):
    board = BoardSerializer()
    tasks = SnapshotTaskSerializer(many=True)
    tasks_total = serializers.IntegerField(help_text="How many tasks the board has (the page may hold fewer).")
    agents = AgentSerializer(many=True)
    pending_approvals = ApprovalSerializer(many=True)
    custom_fields = BoardCustomFieldSerializer(many=True, help_text=(
        "The custom fields attached to the board; tasks carry their values in custom_field_values."))


def tasks_page(request: Request) -> tuple[int | None, int]:
    """``limit`` and ``offset`` of the snapshot's tasks; no ``limit``: every task. Bad values are 422."""
    errors: dict[str, str] = {}
    values: dict[str, int | None] = {"limit": None, "offset": 0}
    for name, top, bottom in (("limit", MAX_TASKS_PAGE, 1), ("offset", MAX_TASKS_OFFSET, 0)):
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            continue
        try:
            value = int(raw)
        except ValueError:
            errors[name] = f"{name} must be a whole number."
            continue
        if not bottom <= value <= top:
            errors[name] = f"{name} must be between {bottom} and {top}."
        values[name] = value
    if errors:
        raise ValidationError(errors)
    return values["limit"], values["offset"] or 0


def board_snapshot(board: Board, *, limit: int | None = None, offset: int = 0) -> dict[str, Any]:
    ordered = (Task.objects.filter(board=board).annotate(assignee_name=F("assigned_agent__name"))
               .order_by("-created_at", "id").values_list(*TaskRow.COLUMNS))
    links = ApprovalTask.objects.filter(task__board=board)
    if limit is None and not offset:
        tasks = [TaskRow(values) for values in ordered]
        total = len(tasks)
        load_task_relations(tasks, board=board)
    else:
        tasks = [TaskRow(values) for values in ordered[offset:None if limit is None else offset + limit]]
        total = Task.objects.filter(board=board).count()
        load_task_relations(tasks)
        links = links.filter(task_id__in=[task.id for task in tasks])
    counts = {
        row["task_id"]: row
        for row in links.values("task_id")
        .annotate(total=Count("id"), pending=Count("id", filter=Q(is_pending=True))).order_by()
    }
    for task in tasks:
        row = counts.get(task.id)
        task.approvals_count = row["total"] if row else 0
        task.pending_approvals_count = row["pending"] if row else 0
    return {
        "board": board,
        "tasks": tasks,
        "tasks_total": total,
        "agents": list(Agent.objects.filter(board=board).order_by("name")),
        "pending_approvals": list(approval_queryset(
            Approval.objects.filter(board=board, status=Approval.Status.PENDING).order_by("-created_at"))),
        "custom_fields": list(board.custom_fields.order_by("label", "id")),
    }
