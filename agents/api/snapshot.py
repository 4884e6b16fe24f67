"""The board snapshot: everything the board page needs, in a fixed number of queries.

Relations are read per board (one query each for dependencies, tags, approval counts),
never per task, so a board of 10,000 tasks costs the same number of queries as one of 10.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Q
from rest_framework import serializers

from agents.models import Agent, Approval, ApprovalTask, Board, Task
from agents.queries import approval_queryset, load_task_relations
from agents.serializers import AgentSerializer, ApprovalSerializer, BoardSerializer, TaskSerializer


class SnapshotTaskSerializer(TaskSerializer):
    assignee_name = serializers.CharField(read_only=True, allow_null=True)
    approvals_count = serializers.IntegerField(read_only=True)
    pending_approvals_count = serializers.IntegerField(read_only=True)

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "assignee_name", "approvals_count", "pending_approvals_count"]
        read_only_fields = fields

    def to_representation(self, task: Task) -> dict[str, Any]:
        return {**super().to_representation(task), "assignee_name": getattr(task, "assignee_name", None),  # from the query's annotation

                "approvals_count": task.approvals_count,
                "pending_approvals_count": task.pending_approvals_count}


class BoardSnapshotSerializer(serializers.Serializer):
    board = BoardSerializer()
    tasks = SnapshotTaskSerializer(many=True)
    agents = AgentSerializer(many=True)
    pending_approvals = ApprovalSerializer(many=True)


def board_snapshot(board: Board) -> dict[str, Any]:
    tasks = list(Task.objects.filter(board=board).annotate(assignee_name=F("assigned_agent__name"))
                 .order_by("-created_at", "id"))
    load_task_relations(tasks, board=board)
    counts = {
        row["task_id"]: row
        for row in ApprovalTask.objects.filter(task__board=board).values("task_id")
        .annotate(total=Count("id"), pending=Count("id", filter=Q(is_pending=True))).order_by()
    }
    for task in tasks:
        row = counts.get(task.id)
        task.approvals_count = row["total"] if row else 0
        task.pending_approvals_count = row["pending"] if row else 0
    return {
        "board": board,
        "tasks": tasks,
        "agents": list(Agent.objects.filter(board=board).order_by("name")),
        "pending_approvals": list(approval_queryset(
            Approval.objects.filter(board=board, status=Approval.Status.PENDING).order_by("-created_at"))),
    }
