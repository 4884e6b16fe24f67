"""The board snapshot: everything the board page needs, in a fixed number of queries.

Relations are read per board (one query each for dependencies, tags, approval counts),
never per task, so a board of 10,000 tasks costs the same number of queries as one of 10.

Without paging parameters the snapshot holds every task, as agents have always read it.
``?limit=N&offset=M`` (1 <= N <= ``MAX_TASKS_PAGE``) asks for one page of the tasks in the
same order (newest first); the relations are then read for that page only, and
``tasks_total`` says how many there are in all.

On Postgres the tasks and the pending approvals are written as JSON by the database
(:func:`written_json`): at 10,000 tasks, building a Python object per task, per UUID and per
timestamp and encoding them again cost most of a second of Python time, and the database
writes the same JSON in about a quarter of that (``bench/bench_table.sh``); the pending
approvals, hundreds on a busy board, cost more as model instances than all the rest of the
Python side. What is left (the board, its agents, its custom fields) goes through the
serializers as before, and :func:`snapshot_json` joins the parts. On other databases the
serializers write it all; ``tests/agents/test_snapshot_sql.py`` holds both to the same answer.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection
from django.db.models import Count, F, Q
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from agents.models import Agent, Approval, ApprovalTask, Board, Tag, Task, TaskDependency
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
    pending = approval_queryset(Approval.objects.filter(board=board, status=Approval.Status.PENDING)
                                .order_by("-created_at", "id"))
    return {"board": board, "tasks": tasks, "tasks_total": total, "pending_approvals": list(pending),
            **_board_parts(board)}


def _board_parts(board: Board) -> dict[str, Any]:
    """What the snapshot holds besides the tasks and the pending approvals."""
    return {
        "agents": list(Agent.objects.filter(board=board).order_by("name")),
        "custom_fields": list(board.custom_fields.order_by("label", "id")),
    }


def snapshot_json(board: Board, *, limit: int | None = None, offset: int = 0) -> bytes:
    """The snapshot as the API answers it, JSON in UTF-8."""
    if connection.vendor != "postgresql":
        return JSONRenderer().render(BoardSnapshotSerializer(board_snapshot(board, limit=limit, offset=offset)).data)
    tasks, total, pending = written_json(board, limit=limit, offset=offset)
    written = {"tasks": tasks, "pending_approvals": pending}
    values = {"board": board, "tasks_total": total, **_board_parts(board)}
    render = JSONRenderer().render
    # The keys in the serializer's order; what Postgres did not write, written by its own field.
    return b"{" + b",".join(
        render(name) + b":" + (written[name].encode() if name in written else render(field.to_representation(values[name])))
        for name, field in BoardSnapshotSerializer().fields.items()) + b"}"


def _utc_text(column: str) -> str:
    """SQL writing a timestamp as ``_datetime_text`` does: UTC, ``Z``, microseconds unless 0."""
    return f"""replace(to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '.000000Z', 'Z')"""


def _object_or_empty(column: str) -> str:
    """SQL for a JSON column as the serializers write it: the object it holds, else ``{}``."""
    return f"CASE WHEN jsonb_typeof({column}) = 'object' THEN {column} ELSE '{{}}'::jsonb END"


def _columns(fields: dict[str, str], keys: list[str]) -> str:
    """A SELECT list naming each expression after its key, in the serializer's order."""
    assert list(fields) == keys
    return ", ".join(f'{expression} AS "{name}"' for name, expression in fields.items())


@functools.cache
def _pending_approvals_sql() -> str:
    """The board's pending approvals as one JSON array, newest first, each with the keys of
    ``ApprovalSerializer``; its tasks in the order they were linked."""
    approval, link, task = (model._meta.db_table for model in (Approval, ApprovalTask, Task))
    columns = _columns({
        "id": "v.id", "board_id": "v.board_id", "action_type": "v.action_type", "task_id": "k.ids -> 0",
        "task_ids": "coalesce(k.ids, '[]'::json)", "task_titles": "coalesce(k.titles, '[]'::json)",
        "payload": _object_or_empty("v.payload"), "confidence": "v.confidence",
        "rubric_scores": _object_or_empty("v.rubric_scores"), "status": "v.status", "agent_id": "v.agent_id",
        "created_at": _utc_text("v.created_at"), "resolved_at": _utc_text("v.resolved_at"),
        "lead_reasoning": "v.lead_reasoning",
    }, ApprovalSerializer.Meta.fields)
    return f"""
        SELECT coalesce(json_agg(row_to_json(x) ORDER BY v.created_at DESC, v.id), '[]'::json)::text
        FROM {approval} v
        LEFT JOIN LATERAL (
            SELECT json_agg(l.task_id ORDER BY l.id) AS ids, json_agg(t.title ORDER BY l.id) AS titles
            FROM {link} l JOIN {task} t ON t.id = l.task_id WHERE l.approval_id = v.id
        ) k ON true
        CROSS JOIN LATERAL (SELECT {columns}) x
        WHERE v.board_id = %s AND v.status = '{Approval.Status.PENDING.value}'"""


@functools.cache
def _written_sql() -> str:
    """One statement: first a row with how many tasks the board has and its pending
    approvals (:func:`_pending_approvals_sql`), then one row per task of the page in the
    snapshot's order, each the JSON text of the task with the keys of ``SnapshotTaskSerializer``.
    (Rows rather than one array: an aggregate sorting ten thousand JSON values cost more
    than sending them as rows.)

    Each task is one ``row_to_json`` of a row whose column names are the keys (several
    times cheaper than ``json_build_object``); each tag is written once, however many tasks
    carry it; and a task's tags are gathered by a window over the links sorted once, rather
    than by an ordered aggregate that sorts each task's tags on its own. UUIDs are written
    by their own type, which is cheaper than a cast to text and writes the same string."""
    task, agent, dep, tag = (model._meta.db_table for model in (Task, Agent, TaskDependency, Tag))
    task_tags, approval_task = Task.tags.through._meta.db_table, ApprovalTask._meta.db_table
    done = Task.Status.DONE.value
    columns = _columns({
        "id": "p.id", "board_id": "p.board_id", "title": "p.title", "description": "p.description",
        "status": "p.status", "priority": "p.priority", "due_at": _utc_text("p.due_at"),
        "in_progress_at": _utc_text("p.in_progress_at"), "assigned_agent_id": "p.assigned_agent_id",
        "created_by_user_id": "p.created_by_user_id", "created_at": _utc_text("p.created_at"),
        "updated_at": _utc_text("p.updated_at"),
        "depends_on_task_ids": "coalesce(d.ids, '[]'::json)",
        "blocked_by_task_ids": "coalesce(d.blocked, '[]'::json)",
        "is_blocked": "d.blocked IS NOT NULL",
        "tag_ids": "coalesce(g.ids, '[]'::json)", "tags": "coalesce(g.tags, '[]'::json)",
        "custom_field_values": _object_or_empty("p.custom_field_values"),
        "assignee_name": "a.name", "approvals_count": "coalesce(ap.total, 0)",
        "pending_approvals_count": "coalesce(ap.pending, 0)",
    }, SnapshotTaskSerializer.Meta.fields)
    return f"""
        WITH page AS (
            SELECT *, row_number() OVER (ORDER BY created_at DESC, id) AS n
            FROM {task} WHERE board_id = %s ORDER BY created_at DESC, id LIMIT %s OFFSET %s
        ), deps AS (
            SELECT l.task_id, json_agg(l.depends_on_id ORDER BY l.id) AS ids,
                   json_agg(l.depends_on_id ORDER BY l.id) FILTER (WHERE o.status <> '{done}') AS blocked
            FROM {dep} l JOIN {task} o ON o.id = l.depends_on_id
            WHERE l.task_id IN (SELECT id FROM page) GROUP BY l.task_id
        ), links AS (
            SELECT task_id, tag_id FROM {task_tags} WHERE task_id IN (SELECT id FROM page)
        ), tag_objects AS (
            SELECT t.id, t.name, row_to_json(x) AS object
            FROM {tag} t CROSS JOIN LATERAL (SELECT t.id AS "id", t.name AS "name", t.slug AS "slug",
                                                    t.color AS "color") x
            WHERE t.id IN (SELECT tag_id FROM links)
        ), tags AS (
            SELECT task_id, ids, tags FROM (
                SELECT l.task_id, row_number() OVER w AS k, json_agg(o.id) OVER w AS ids,
                       json_agg(o.object) OVER w AS tags
                FROM links l JOIN tag_objects o ON o.id = l.tag_id
                WINDOW w AS (PARTITION BY l.task_id ORDER BY o.name, o.id
                             ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
            ) s WHERE k = 1
        ), approvals AS (
            SELECT task_id, count(*) AS total, count(*) FILTER (WHERE is_pending) AS pending
            FROM {approval_task} WHERE task_id IN (SELECT id FROM page) GROUP BY task_id
        )
        SELECT 0 AS n, NULL AS task, (SELECT count(*) FROM {task} WHERE board_id = %s) AS total,
               ({_pending_approvals_sql()}) AS pending
        UNION ALL
        SELECT p.n, row_to_json(x)::text, NULL, NULL
        FROM page p
        LEFT JOIN {agent} a ON a.id = p.assigned_agent_id
        LEFT JOIN deps d ON d.task_id = p.id
        LEFT JOIN tags g ON g.task_id = p.id
        LEFT JOIN approvals ap ON ap.task_id = p.id
        CROSS JOIN LATERAL (SELECT {columns}) x
        ORDER BY n"""


def written_json(board: Board, *, limit: int | None = None, offset: int = 0) -> tuple[str, int, str]:
    """What Postgres writes of the snapshot: its tasks and its pending approvals as JSON
    text, and the board's task count, all read in one statement (one view of the board)."""
    with connection.cursor() as cursor:
        cursor.execute(_written_sql(), [board.pk, limit, offset, board.pk, board.pk])
        (_, _, total, pending), *tasks = cursor.fetchall()
    return "[" + ",".join(task for _, task, _, _ in tasks) + "]", total, pending
