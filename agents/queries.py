"""Reading the domain: the queries that several interfaces share.

Lists cost a fixed number of queries whatever their length: relations are loaded per
page (or per board), never per row. The user API, the agent API and the console call
these; writes are in ``agents.rules``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from agents.models import (
    Agent,
    Approval,
    ApprovalTask,
    Board,
    BoardGroup,
    BoardMemory,
    CustomFieldDefinition,
    Membership,
    Tag,
    Task,
    TaskDependency,
)
from missioncontrol.api.query import choices_schema, query_bool, query_choices, query_uuid


def board_paused(board: Board) -> bool:
    """Whether the board's last /pause or /resume in chat was /pause."""
    from agents.gateway.events import PAUSE, RESUME

    last = (BoardMemory.objects.filter(board=board, is_chat=True, content__in=[PAUSE, RESUME])
            .order_by("-created_at").values_list("content", flat=True).first())
    return last == PAUSE


def board_lead(board: Board) -> Agent | None:
    return Agent.objects.filter(board_id=board.pk, is_board_lead=True).first()


def blocked_by_map(task_ids: Iterable[Any]) -> dict[Any, list[Any]]:
    """Unfinished dependencies of each task, in one query (for lists and snapshots)."""
    result: dict[Any, list[Any]] = {}
    for task_id, dep_id in (TaskDependency.objects.filter(task_id__in=list(task_ids))
                            .exclude(depends_on__status=Task.Status.DONE).values_list("task_id", "depends_on_id")):
        result.setdefault(task_id, []).append(dep_id)
    return result


class TaskRow:
    """A task's columns as the snapshot reads them: one tuple per task from the database,
    without building a model instance (at 10,000 tasks that alone cost a quarter of a
    second). The serializers read it as they read a ``Task``."""

    COLUMNS = ("id", "board_id", "title", "description", "status", "priority", "due_at", "in_progress_at",
               "assigned_agent_id", "created_by_user_id", "created_at", "updated_at", "custom_field_values",
               "assignee_name")
    __slots__ = (*COLUMNS, "loaded_dependencies", "loaded_tags", "approvals_count", "pending_approvals_count")

    id: UUID
    board_id: UUID
    title: str
    description: str
    status: str
    priority: str
    due_at: datetime | None
    in_progress_at: datetime | None
    assigned_agent_id: UUID | None
    created_by_user_id: UUID | None
    created_at: datetime
    updated_at: datetime
    custom_field_values: dict[str, Any]
    assignee_name: str | None
    loaded_dependencies: list[tuple[UUID, str]]
    loaded_tags: list[Tag]
    approvals_count: int
    pending_approvals_count: int

    def __init__(self, values: tuple[Any, ...]) -> None:
        # One unpacking in the order of COLUMNS (a loop of setattr costs twice as much).
        (self.id, self.board_id, self.title, self.description, self.status, self.priority, self.due_at,
         self.in_progress_at, self.assigned_agent_id, self.created_by_user_id, self.created_at, self.updated_at,
         self.custom_field_values, self.assignee_name) = values


def load_task_relations[T: Task | TaskRow](tasks: list[T], board: Board | None = None) -> list[T]:
    """Attaches dependencies (with their status) and tags to ``tasks`` in two queries.

    With ``board`` the queries select the whole board's links instead of an ``IN`` list of
    ids, which keeps the snapshot of a very large board to two plain queries.
    """
    deps: dict[UUID, list[tuple[UUID, str]]] = defaultdict(list)
    tags: dict[UUID, list[Tag]] = defaultdict(list)
    if tasks:
        ids = [task.id for task in tasks]
        dep_rows = TaskDependency.objects.filter(task__board=board) if board else TaskDependency.objects.filter(task_id__in=ids)
        for task_id, dep_id, dep_status in dep_rows.values_list("task_id", "depends_on_id", "depends_on__status").order_by("id"):
            deps[task_id].append((dep_id, dep_status))
        through = Task.tags.through
        tag_rows = through.objects.filter(task__board=board) if board else through.objects.filter(task_id__in=ids)
        # Plain rows, one Tag object per distinct tag: a large board links thousands of
        # tasks to a handful of tags, and building a model object per link costs seconds.
        distinct: dict[UUID, Tag] = {}
        for task_id, tag_id, name, slug, color in (tag_rows.order_by("tag__name", "tag_id")
                                                   .values_list("task_id", "tag_id", "tag__name", "tag__slug", "tag__color")):
            tag = distinct.get(tag_id)
            if tag is None:
                tag = distinct[tag_id] = Tag(id=tag_id, name=name, slug=slug, color=color)
            tags[task_id].append(tag)
    for task in tasks:
        task.loaded_dependencies = deps.get(task.id, [])
        task.loaded_tags = tags.get(task.id, [])
    return tasks



def custom_field_queryset(queryset: QuerySet[CustomFieldDefinition] | None = None) -> QuerySet[CustomFieldDefinition]:
    """Definitions with their board ids loaded in one more query, whatever their number."""
    queryset = CustomFieldDefinition.objects.all() if queryset is None else queryset
    return queryset.prefetch_related(Prefetch("boards", queryset=Board.objects.only("id", "name").order_by("name", "id")))


def approval_queryset(queryset: QuerySet[Approval] | None = None) -> QuerySet[Approval]:
    queryset = Approval.objects.all() if queryset is None else queryset
    links = ApprovalTask.objects.select_related("task").only("id", "approval_id", "task_id", "task__title").order_by("id")
    return queryset.prefetch_related(Prefetch("task_links", queryset=links))



# A group snapshot lists each board's most pressing tasks first.
_STATUS_WEIGHT = {Task.Status.IN_PROGRESS: 0, Task.Status.REVIEW: 1, Task.Status.INBOX: 2, Task.Status.DONE: 3}
_PRIORITY_WEIGHT = {Task.Priority.URGENT: 0, Task.Priority.HIGH: 1, Task.Priority.MEDIUM: 2, Task.Priority.LOW: 3}
GROUP_SNAPSHOT_TASK_LIMIT = 100


def _weight(field: str, weights: dict[Any, int]) -> Case:
    return Case(*(When(**{field: key}, then=Value(weight)) for key, weight in weights.items()),
                default=Value(99), output_field=IntegerField())


def status_rank() -> Case:
    """0 for inbox up to 3 for done: the board's columns from left to right, as a sort key."""
    return _weight("status", {value: rank for rank, value in enumerate(Task.Status.values)})


def priority_rank() -> Case:
    """0 for urgent up to 3 for low: the most pressing first, as a sort key."""
    return _weight("priority", _PRIORITY_WEIGHT)


# The order of a column of the board: tasks placed by hand (``position``) after those not
# placed yet (new, or just moved there), which come latest change first; ``id`` makes it total.
COLUMN_ORDER = (F("position").asc(nulls_first=True), F("updated_at").desc(), F("id").asc())


GROUP_SNAPSHOT_PARAMETERS = [
    OpenApiParameter("include_done", OpenApiTypes.BOOL,
                     description="true: done tasks may be among each board's tasks too (default false)."),
    OpenApiParameter("per_board_task_limit", {"type": "integer", "minimum": 0, "maximum": GROUP_SNAPSHOT_TASK_LIMIT},
                     description=(
        f"Tasks listed per board, 0 to {GROUP_SNAPSHOT_TASK_LIMIT} (default 5); the counts cover every task.")),
]


def group_snapshot_options(request: Request) -> tuple[bool, int]:
    """``include_done`` and ``per_board_task_limit`` of a group snapshot; bad values are 422."""
    include_done = bool(query_bool(request, "include_done"))
    raw = request.query_params.get("per_board_task_limit")
    if raw is None or raw == "":
        return include_done, 5
    top = GROUP_SNAPSHOT_TASK_LIMIT
    if not (raw.isascii() and raw.isdigit()) or int(raw) > top:
        raise ValidationError({"per_board_task_limit": [f"per_board_task_limit must be a whole number from 0 to {top}."]})
    return include_done, int(raw)


def group_snapshot(group: BoardGroup | None, *, exclude_board_id: UUID | None = None, include_done: bool = False,
                   per_board_task_limit: int = 5, within: QuerySet[Board] | None = None) -> dict[str, Any]:
    """The boards of ``group`` (by name; without ``exclude_board_id``), each with its task
    counts by status and its first ``per_board_task_limit`` tasks (in progress, then review,
    then inbox, done only with ``include_done``; by priority, then the latest change first).

    Five queries whatever the number of boards and tasks: the per-board limit is a window
    in the database, so a board of 10,000 tasks sends only its first few. No group: no boards."""
    if group is None:
        return {"group": None, "boards": []}
    grouped = Board.objects.filter(group_id=group.pk)
    if within is not None:
        # A person sees the group's boards they may read (``access.visible_boards``).
        grouped = grouped.filter(pk__in=within.values("pk"))
    boards = list(grouped.exclude(pk=exclude_board_id).order_by("name", "id")
                  if exclude_board_id is not None else grouped.order_by("name", "id"))
    board_ids = [board.pk for board in boards]
    counts: dict[UUID, dict[str, int]] = defaultdict(dict)
    tasks_by_board: dict[UUID, list[Task]] = defaultdict(list)
    if board_ids:
        for board_id, status, total in (Task.objects.filter(board_id__in=board_ids).values("board_id", "status")
                                        .annotate(total=Count("id")).order_by()
                                        .values_list("board_id", "status", "total")):
            counts[board_id][status] = total
        if per_board_task_limit > 0:
            tasks = Task.objects.filter(board_id__in=board_ids)
            if not include_done:
                tasks = tasks.exclude(status=Task.Status.DONE)
            order = [_weight("status", _STATUS_WEIGHT).asc(), _weight("priority", _PRIORITY_WEIGHT).asc(),
                     F("updated_at").desc(), F("created_at").desc(), F("id").asc()]
            ranked = list(tasks.annotate(assignee_name=F("assigned_agent__name"),
                                         rank=Window(RowNumber(), partition_by=[F("board_id")], order_by=order))
                          .filter(rank__lte=per_board_task_limit).order_by("board_id", "rank"))
            load_task_relations(ranked)
            names = {board.pk: board.name for board in boards}
            for ranked_task in ranked:
                ranked_task.board_name = names[ranked_task.board_id]
                tasks_by_board[ranked_task.board_id].append(ranked_task)
    return {"group": group, "boards": [
        {"board": board, "task_counts": {status: counts[board.pk].get(status, 0) for status in Task.Status.values},
         "tasks": tasks_by_board.get(board.pk, [])} for board in boards]}


# The task list filters of people's and agents' routes, and their documentation.
TASK_FILTERS = [
    OpenApiParameter("status", choices_schema(Task.Status.values),
                     description="One status or a comma list (inbox,in_progress,review,done); unknown values are 422."),
    OpenApiParameter("assigned_agent_id", OpenApiTypes.UUID, description="Only tasks assigned to this agent."),
    OpenApiParameter("unassigned", OpenApiTypes.BOOL, description="true: only tasks without an assignee."),
    OpenApiParameter("overdue", OpenApiTypes.BOOL, description=(
        "true: only overdue tasks (due in the past and not done); false: only the others.")),
    OpenApiParameter("due_before", OpenApiTypes.DATETIME, description=(
        "Only tasks due before this ISO 8601 date and time (tasks without a due date are left out).")),
    OpenApiParameter("due_after", OpenApiTypes.DATETIME, description=(
        "Only tasks due at or after this ISO 8601 date and time (tasks without a due date are left out).")),
    OpenApiParameter("custom_field", OpenApiTypes.STR, description=(
        "A custom field key of the board: only tasks whose value of it is custom_field_value (for a text field: "
        "contains it, case ignored). Unknown keys are 422.")),
    OpenApiParameter("custom_field_value", OpenApiTypes.STR, description=(
        "The value custom_field must have, as text: 3 or 2.5 for a number, true or false for a boolean, "
        "YYYY-MM-DD for a date.")),
]


def filter_tasks(request: Request, tasks: QuerySet[Task], board: Board | None = None) -> QuerySet[Task]:
    """The task list filters shared by people's and agents' routes (the custom field filter
    needs the ``board`` whose fields it names)."""
    statuses = query_choices(request, "status", Task.Status.values)
    if statuses:
        tasks = tasks.filter(status__in=statuses)
    assignee = query_uuid(request, "assigned_agent_id")
    unassigned = query_bool(request, "unassigned")
    if assignee is not None and unassigned:
        raise ValidationError({"unassigned": ["Use either assigned_agent_id or unassigned=true, not both."]})
    if assignee is not None:
        tasks = tasks.filter(assigned_agent_id=assignee)
    if unassigned is True:
        tasks = tasks.filter(assigned_agent__isnull=True)
    elif unassigned is False:
        tasks = tasks.filter(assigned_agent__isnull=False)
    tasks = _filter_by_due_query(request, tasks)
    if board is not None:
        tasks = _filter_by_custom_field_query(request, tasks, board)
    return tasks


def overdue_condition(now: datetime | None = None) -> Q:
    """Tasks due in the past and not done (``agents.models.is_overdue`` as a query)."""
    return Q(due_at__lt=now or timezone.now()) & ~Q(status=Task.Status.DONE)


def _query_datetime(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = parse_datetime(raw.strip())
    except ValueError:  # well-formed but impossible, like 2026-02-30T10:00
        value = None
    if value is None:
        raise ValidationError({name: [f"{name} must be an ISO 8601 date and time, like 2026-05-01T12:00:00Z."]})
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)


def _filter_by_due_query(request: Request, tasks: QuerySet[Task]) -> QuerySet[Task]:
    overdue = query_bool(request, "overdue")
    before, after = _query_datetime(request, "due_before"), _query_datetime(request, "due_after")
    if before is not None and after is not None and after >= before:
        raise ValidationError({"due_after": ["due_after must be earlier than due_before."]})
    if overdue is True:
        tasks = tasks.filter(overdue_condition())
    elif overdue is False:
        tasks = tasks.exclude(overdue_condition())
    if before is not None:
        tasks = tasks.filter(due_at__lt=before)
    if after is not None:
        tasks = tasks.filter(due_at__gte=after)
    return tasks


def _filter_by_custom_field_query(request: Request, tasks: QuerySet[Task], board: Board) -> QuerySet[Task]:
    key = request.query_params.get("custom_field")
    text = request.query_params.get("custom_field_value")
    if key is None and text is None:
        return tasks
    if key is None:
        raise ValidationError({"custom_field": ["Name the custom field that custom_field_value is for."]})
    if not (text or "").strip():
        raise ValidationError({"custom_field_value": ["Give custom_field_value, the value to look for."]})
    definition = board.custom_fields.filter(field_key=key).first()
    if definition is None:
        raise ValidationError({"custom_field": [f"This board has no custom field {key}."]})
    try:
        value = custom_field_filter_value(definition, text or "")
    except ValueError as exc:
        raise ValidationError({"custom_field_value": [str(exc)]}) from None
    return filter_by_custom_field(tasks, definition, value)


def custom_field_filter_value(definition: CustomFieldDefinition, text: str) -> Any:
    """What a person typed to filter by ``definition``, as the value tasks store; ValueError
    with a sentence when it cannot be one."""
    kind = CustomFieldDefinition.FieldType
    text = text.strip()
    if not text:
        raise ValueError(f"Type a value of {definition.label} to filter by.")
    if definition.field_type == kind.NUMBER:
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            # 1e999 reads as infinity and nan as not a number: JSON has neither, and the
            # database refuses to compare a stored value with them.
            if not math.isfinite(number):
                raise ValueError(f"{definition.label} is a number: type one, like 3 or 2.5.") from None
            return number
    if definition.field_type == kind.BOOLEAN:
        words = {"true": True, "yes": True, "false": False, "no": False}
        if text.lower() not in words:
            raise ValueError(f"{definition.label} is yes or no.")
        return words[text.lower()]
    return text


def filter_by_custom_field(tasks: QuerySet[Task], definition: CustomFieldDefinition, value: Any) -> QuerySet[Task]:
    """Tasks whose value of ``definition`` is ``value``; for a text field, contains it (case ignored).

    The lookup always ends in an explicit lookup name, so a key that is itself the name of a
    lookup (``contains``) is still read as a key; keys never hold ``__`` (``agents.rules.fields``)."""
    path = f"custom_field_values__{definition.field_key}"
    if definition.field_type == CustomFieldDefinition.FieldType.TEXT:
        return tasks.filter(**{f"{path}__icontains": value})
    # Compared as JSON: 3 finds 3 and 3.0, and true is not the text "true".
    return tasks.filter(**{f"{path}__exact": value})


def member_queryset(org_id: Any) -> QuerySet[Membership]:
    """An organization's members for ``MemberSerializer``: two queries, however many."""
    return (Membership.objects.filter(organization_id=org_id).select_related("user")
            .prefetch_related("board_access").order_by("user__username", "id"))
