"""Console pages of boards: the list, the kanban (live), creating, editing and deleting a board.

Changes go through ``agents.rules.boards``, as the API's do, so both refuse the same
input with the same sentence and write the same event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from agents import access, queries, rules
from agents.console.common import (
    admin_only,
    etag_for,
    forbidden,
    live_fragment,
    page,
    paginate,
    refusal_text,
)
from agents.console.forms import (
    RULE_HELP,
    RULE_LABELS,
    BoardForm,
    CustomFieldValuesForm,
    TaskCreateForm,
)
from agents.gateway.events import PAUSE, RESUME
from agents.http import ConsoleRequest
from agents.models import (
    Agent,
    Approval,
    ApprovalTask,
    Board,
    CustomFieldDefinition,
    Tag,
    Task,
    TaskDependency,
)
from agents.refusals import RuleViolation


@dataclass(frozen=True)
class Card:
    """A task as the kanban shows it, with its links."""

    task: Task
    url: str
    move_url: str
    # The move menu's choice already selected: the next step of the workflow, or where a
    # done card already is (reopening one is a decision, never the default).
    move_to: str


# Cards per kanban column; the rest of a column is one click away, paged.
COLUMN_LIMIT = 30
STATUSES = list(Task.Status.choices)
# The card's move menu lists the columns in the board's order, with this one selected.
MOVE_TO = {Task.Status.INBOX: Task.Status.IN_PROGRESS, Task.Status.IN_PROGRESS: Task.Status.REVIEW,
           Task.Status.REVIEW: Task.Status.DONE, Task.Status.DONE: Task.Status.DONE}
# The board's due date filter (``?due=``): its choices and the list heading of each.
DUE_FILTERS = [("", "Any time"), ("overdue", "Overdue"), ("week", "Due in the next 7 days")]


@login_required
def boards(request: ConsoleRequest) -> HttpResponse:
    queryset = (access.visible_boards(request.user).select_related("organization", "gateway", "group")
                .annotate(task_count=Count("tasks", distinct=True),
                          open_count=Count("tasks", filter=~Q(tasks__status=Task.Status.DONE), distinct=True))
                .order_by("name"))
    board_page = paginate(request, queryset)
    return page(request, "agents/boards.html", "boards", {
        "page_obj": board_page,
        "can_create": access.admin_organizations(request.user).exists(),
    })


def _board_form(request: ConsoleRequest, board: Board | None) -> BoardForm:
    organizations = access.admin_organizations(request.user)
    gateways = access.visible_gateways(request.user)
    groups = access.visible_groups(request.user)
    if board is not None:
        gateways = gateways.filter(organization_id=board.organization_id)
        groups = groups.filter(organization_id=board.organization_id)
    fields = access.visible_custom_fields(request.user).filter(organization__in=organizations)
    if board is not None:
        fields = fields.filter(organization_id=board.organization_id)
    return BoardForm(request.POST or None, board=board, organizations=organizations, gateways=gateways,
                     custom_fields=fields.order_by("label"), groups=groups.order_by("name"))


def _rule_fields(form: BoardForm) -> list[Any]:
    return [form[name] for name in RULE_HELP if name in form.fields]


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def board_create(request: ConsoleRequest) -> HttpResponse:
    if not access.admin_organizations(request.user).exists():
        # 403 as the API answers a member who creates a board.
        return forbidden(request, "Only an owner or admin of an organization may create a board.")
    form = _board_form(request, None)
    if request.method == "POST":
        if form.is_valid():
            try:
                with transaction.atomic():
                    board = rules.create_board(request.user, form.cleaned_data["organization"], form.board_data())
                    rules.set_board_custom_fields(request.user, board, form.cleaned_data["custom_fields"])
            except RuleViolation as exc:
                form.add_refusal(exc)
            else:
                messages.success(request, f"Board “{board.name}” created. Add a task or an agent to get started.")
                return redirect("console:board", board_id=board.pk)
    return page(request, "agents/board_form.html", "boards", {"form": form, "rule_fields": _rule_fields(form)},
                status=422 if form.is_bound else 200)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def board_edit(request: ConsoleRequest, board_id: Any) -> HttpResponse:
    board = access.get_board_for(request.user, board_id)
    if not access.is_admin(request.user, board.organization_id):
        return forbidden(request, admin_only("change a board"))
    form = _board_form(request, board)
    if request.method == "POST":
        if form.is_valid():
            try:
                with transaction.atomic():
                    board = rules.update_board(request.user, board, form.board_data())
                    rules.set_board_custom_fields(request.user, board, form.cleaned_data["custom_fields"])
            except RuleViolation as exc:
                form.add_refusal(exc)
            else:
                messages.success(request, "Board saved.")
                return redirect("console:board", board_id=board.pk)
    return page(request, "agents/board_form.html", "boards",
                {"form": form, "board": board, "rule_fields": _rule_fields(form)},
                status=422 if form.is_bound else 200)


def board_tasks(board: Board) -> QuerySet[Task]:
    """Tasks with what a card shows: assignee, blocked and pending-approval flags."""
    unfinished_dependency = TaskDependency.objects.filter(task=OuterRef("pk")).exclude(
        depends_on__status=Task.Status.DONE)
    pending_approval = ApprovalTask.objects.filter(task=OuterRef("pk"), is_pending=True)
    return (Task.objects.filter(board=board).select_related("assigned_agent")
            .annotate(blocked=Exists(unfinished_dependency), awaiting_approval=Exists(pending_approval)))


def board_fingerprint(board: Board) -> tuple[Any, ...]:
    """Changes whenever a card would: any task, approval link or dependency of the board."""
    tasks = Task.objects.filter(board=board).aggregate(n=Count("id"), last=Max("updated_at"))
    approvals = Approval.objects.filter(board=board).aggregate(n=Count("id"), last=Max("resolved_at"))
    return (board.pk, board.updated_at, tasks["n"], tasks["last"], approvals["n"], approvals["last"])


def _board_columns(board: Board) -> list[dict[str, Any]]:
    counts = dict(Task.objects.filter(board=board).values_list("status").annotate(n=Count("id")).order_by())
    columns = []
    base = board_tasks(board).order_by("-updated_at")
    board_url = reverse("console:board", args=[board.pk])
    for value, name in STATUSES:
        total = counts.get(value, 0)
        tasks = list(base.filter(status=value)[:COLUMN_LIMIT]) if total else []
        # Links built once here: a reverse() per card and link is most of a big board's render time.
        cards = [Card(task, f"{board_url}tasks/{task.pk}/", f"{board_url}tasks/{task.pk}/move",
                      MOVE_TO[Task.Status(task.status)]) for task in tasks]
        columns.append({"status": value, "label": name, "cards": cards, "total": total,
                        "hidden": max(0, total - len(tasks))})
    _attach_tags([card.task for column in columns for card in column["cards"]])
    return columns


def _attach_tags(tasks: list[Task]) -> None:
    """Each card's tags (``loaded_tags``), in one query for the whole board."""
    tags: dict[Any, list[Tag]] = {task.pk: [] for task in tasks}
    rows = (Task.tags.through.objects.filter(task_id__in=list(tags)).order_by("tag__name", "tag_id")
            .values_list("task_id", "tag_id", "tag__name", "tag__color"))
    for task_id, tag_id, name, color in rows:
        tags[task_id].append(Tag(id=tag_id, name=name, color=color))
    for task in tasks:
        task.loaded_tags = tags[task.pk]


def _board_body_context(request: ConsoleRequest, board: Board) -> dict[str, Any]:
    # Everyone who sees the board gets the move menus; agents.rules decides each move.
    return {"board": board, "columns": _board_columns(board), "statuses": STATUSES}


@login_required
def board_detail(request: ConsoleRequest, board_id: Any) -> HttpResponse:
    return board_page(request, access.get_board_for(request.user, board_id))


def board_page(request: ConsoleRequest, board: Board, *, create_form: TaskCreateForm | None = None,
               fields_form: CustomFieldValuesForm | None = None, status_code: int = 200) -> HttpResponse:
    """The board's page; ``create_form`` and ``fields_form``: the new-task form as it was sent,
    when it was refused."""
    status = request.GET.get("status")
    agents = Agent.objects.filter(board=board).order_by("name")
    definitions = list(board.custom_fields.order_by("label", "id"))
    context: dict[str, Any] = {"board": board, "statuses": STATUSES,
                               "create_form": create_form or TaskCreateForm(agents=agents),
                               "fields_form": fields_form or CustomFieldValuesForm(definitions=definitions),
                               "create_refused": create_form is not None,
                               "definitions": definitions,
                               "rules": [(RULE_LABELS[name], getattr(board, name), text)
                                         for name, text in RULE_HELP.items()],
                               "agents": agents, "can_admin": access.is_admin(request.user, board.organization_id),
                               "paused": queries.board_paused(board)}
    context.update({"due_filters": DUE_FILTERS, "goal_metrics": [
        (name, target if isinstance(target, str) else json.dumps(target, ensure_ascii=False))
        for name, target in (board.success_metrics or {}).items()]})
    filtered = _custom_field_filter(request, board, definitions, context)
    due = _due_filter(request, board, context)
    if due is not None:
        context["page_obj"] = paginate(request, due.order_by("due_at", "id"))
    elif filtered is not None:
        context["page_obj"] = paginate(request, filtered.order_by("-updated_at"))
    elif status in Task.Status.values:
        # One column in full, paged: the kanban only shows the most recent cards of each.
        context["list_status"] = status
        context["list_label"] = Task.Status(status).label
        context["page_obj"] = paginate(request, board_tasks(board).filter(status=status).order_by("-updated_at"))
    else:
        context.update(_board_body_context(request, board))
        context["etag"] = etag_for("board", *board_fingerprint(board))
    return page(request, "agents/board.html", "boards", context, status=status_code)


def _due_filter(request: ConsoleRequest, board: Board, context: dict[str, Any]) -> QuerySet[Task] | None:
    """The board's overdue tasks (``?due=overdue``) or the unfinished ones due within a week
    (``?due=week``), soonest first; None without that filter."""
    choice = request.GET.get("due", "")
    labels = dict(DUE_FILTERS)
    if not choice or choice not in labels:
        return None
    context.update({"due_filter": choice, "list_status": "due", "list_label": labels[choice]})
    now = timezone.now()
    tasks = board_tasks(board)
    if choice == "overdue":
        return tasks.filter(queries.overdue_condition(now))
    return tasks.filter(due_at__gte=now, due_at__lt=now + timedelta(days=7)).exclude(status=Task.Status.DONE)


def _custom_field_filter(request: ConsoleRequest, board: Board, definitions: list[CustomFieldDefinition],
                         context: dict[str, Any]) -> QuerySet[Task] | None:
    """The board's tasks with the custom field value of ``?field=<key>&value=<text>``, or None
    when no filter applies (a value that cannot be the field's is said on the page)."""
    key = request.GET.get("field")
    definition = next((d for d in definitions if d.field_key == key), None)
    if definition is None:
        return None
    text = request.GET.get("value", "")
    context.update({"filter_field": definition, "filter_value": text})
    try:
        value = queries.custom_field_filter_value(definition, text)
    except ValueError as exc:
        context["filter_error"] = str(exc)
        return None
    context["list_label"] = f"{definition.label}: {text.strip()}"
    context["list_status"] = "custom_field"
    return queries.filter_by_custom_field(board_tasks(board), definition, value)


@login_required
def board_live(request: ConsoleRequest, board_id: Any) -> HttpResponse:
    board = access.get_board_for(request.user, board_id)
    etag = etag_for("board", *board_fingerprint(board))
    return live_fragment(request, etag, lambda: render(request, "agents/_board_columns.html",
                                                       _board_body_context(request, board)))




@login_required
@require_POST
def board_pause(request: ConsoleRequest, board_id: Any) -> HttpResponse:
    """Pause or resume the board's agents: the same /pause or /resume an agent or a person
    can write in board chat, which every agent of the board is told."""
    board = access.get_board_for(request.user, board_id)
    command = PAUSE if request.POST.get("action") == "pause" else RESUME
    try:
        rules.create_memory(request.user, board, {"content": command, "tags": ["chat"], "source": "console"})
    except RuleViolation as exc:
        messages.error(request, refusal_text(exc))
    else:
        messages.success(request, "Paused: the board's agents were told to take no new work until resumed."
                         if command == PAUSE else "Resumed: the board's agents were told to carry on.")
    return redirect("console:board", board_id=board.pk)


@login_required
@require_POST
def board_delete(request: ConsoleRequest, board_id: Any) -> HttpResponse:
    """Delete a board with its tasks; its activity stays (events keep plain ids)."""
    board = access.get_board_for(request.user, board_id)
    if not access.is_admin(request.user, board.organization_id):
        return forbidden(request, admin_only("delete a board"))
    if request.POST.get("confirm_name", "").strip() != board.name:
        messages.error(request, "Type the board's name exactly to delete it.")
        return redirect("console:board_edit", board_id=board.pk)
    name = board.name
    rules.delete_board(request.user, board)
    messages.success(request, f"Board “{name}” deleted. Its history stays in the activity timeline.")
    return redirect("console:boards")
