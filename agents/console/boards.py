"""Console pages of boards: the list, the kanban (live), creating, editing and deleting a board.

Changes go through ``agents.rules.boards``, as the API's do, so both refuse the same
input with the same sentence and write the same event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from agents import access, live, queries, rules
from agents.console import workspace
from agents.console.board_filters import (
    DUE_FILTERS,
    UNASSIGNED,
    BoardFilters,
    read_filters,
    sort_links,
    view_urls,
)
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
    TaskComment,
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
    reorder_url: str
    # First or last of its column: no up, or no down button.
    first: bool
    last: bool


# Cards per kanban column; the rest of a column is one click away, paged.
COLUMN_LIMIT = 30
STATUSES = list(Task.Status.choices)
# The card's move menu lists the columns in the board's order, with this one selected.
MOVE_TO = {Task.Status.INBOX: Task.Status.IN_PROGRESS, Task.Status.IN_PROGRESS: Task.Status.REVIEW,
           Task.Status.REVIEW: Task.Status.DONE, Task.Status.DONE: Task.Status.DONE}


@login_required
def boards(request: ConsoleRequest) -> HttpResponse:
    queryset = (workspace.narrow(request, access.visible_boards(request.user))
                .select_related("organization", "gateway", "group")
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
    """Tasks with what a card shows: assignee, blocked and pending-approval flags, comment count."""
    unfinished_dependency = TaskDependency.objects.filter(task=OuterRef("pk")).exclude(
        depends_on__status=Task.Status.DONE)
    pending_approval = ApprovalTask.objects.filter(task=OuterRef("pk"), is_pending=True)
    # A subquery, not a join: the count stays right whatever else the query joins.
    comments = (TaskComment.objects.filter(task=OuterRef("pk")).order_by().values("task")
                .annotate(n=Count("pk")).values("n"))
    return (Task.objects.filter(board=board).select_related("assigned_agent")
            .annotate(blocked=Exists(unfinished_dependency), awaiting_approval=Exists(pending_approval),
                      comment_count=Coalesce(Subquery(comments, output_field=IntegerField()), 0)))


def board_fingerprint(board: Board) -> tuple[Any, ...]:
    """Changes whenever a card would: any task, comment, approval link or dependency of the
    board, and any event of the board (its change stamp: a renamed tag of its cards is one)."""
    tasks = Task.objects.filter(board=board).aggregate(n=Count("id", distinct=True), last=Max("updated_at"),
                                                       comments=Count("comments"))
    approvals = Approval.objects.filter(board=board).aggregate(n=Count("id"), last=Max("resolved_at"))
    return (board.pk, board.updated_at, tasks["n"], tasks["last"], tasks["comments"], approvals["n"],
            approvals["last"], live.version([live.board_scope(board.pk)]))


def _board_columns(board: Board, filters: BoardFilters) -> list[dict[str, Any]]:
    # One query for every column: each column's first cards in its order and its total, as
    # windows over the tasks of each status (a column of 10,000 sends only its first few).
    ranked = (filters.apply(board_tasks(board))
              .annotate(rank=Window(RowNumber(), partition_by=[F("status")], order_by=list(queries.COLUMN_ORDER)),
                        column_total=Window(Count("id"), partition_by=[F("status")]))
              .filter(rank__lte=COLUMN_LIMIT).order_by("status", "rank"))
    by_status: dict[str, list[Task]] = {value: [] for value, _ in STATUSES}
    for task in ranked:
        by_status[task.status].append(task)
    columns: list[dict[str, Any]] = []
    board_url = reverse("console:board", args=[board.pk])
    for value, name in STATUSES:
        tasks = by_status[value]
        total: int = getattr(tasks[0], "column_total", 0) if tasks else 0
        # Links built once here: a reverse() per card and link is most of a big board's render time.
        cards = [Card(task, f"{board_url}tasks/{task.pk}/", f"{board_url}tasks/{task.pk}/move",
                      MOVE_TO[Task.Status(task.status)], f"{board_url}tasks/{task.pk}/reorder",
                      first=index == 0, last=index == total - 1) for index, task in enumerate(tasks)]
        columns.append({"status": value, "label": name, "cards": cards, "total": total,
                        "hidden": max(0, total - len(tasks))})
    _attach_tags([task for column in by_status.values() for task in column])
    return columns


def _attach_tags(tasks: list[Task]) -> None:
    """Each card's tags (``loaded_tags``), in one query for the whole board."""
    tags: dict[Any, list[Tag]] = {task.pk: [] for task in tasks}
    if not tags:
        return
    rows = (Task.tags.through.objects.filter(task_id__in=list(tags)).order_by("tag__name", "tag_id")
            .values_list("task_id", "tag_id", "tag__name", "tag__color"))
    for task_id, tag_id, name, color in rows:
        tags[task_id].append(Tag(id=tag_id, name=name, color=color))
    for task in tasks:
        task.loaded_tags = tags[task.pk]


def _board_body_context(request: ConsoleRequest, board: Board, filters: BoardFilters) -> dict[str, Any]:
    # Everyone who sees the board gets the move menus; agents.rules decides each move. The
    # up and down buttons order a whole column, so they show only on the unfiltered board.
    # A card moved on a filtered kanban comes back to the same filters (the live fragment is
    # asked with the page's query string, so both build the same address).
    query = request.GET.urlencode()
    back = reverse("console:board", args=[board.pk]) + (f"?{query}" if query else "")
    return {"board": board, "columns": _board_columns(board, filters), "statuses": STATUSES,
            "filters": filters, "can_reorder": not filters.active, "back": back}


def _filters_for(request: ConsoleRequest, board: Board, agents: list[Agent],
                 definitions: list[CustomFieldDefinition]) -> tuple[BoardFilters, list[Tag]]:
    tags = list(Tag.objects.filter(organization_id=board.organization_id).order_by("name", "id"))
    return read_filters(request.GET, agents=agents, tags=tags, definitions=definitions), tags


@login_required
def board_detail(request: ConsoleRequest, board_id: Any) -> HttpResponse:
    return board_page(request, access.get_board_for(request.user, board_id))


def board_page(request: ConsoleRequest, board: Board, *, create_form: TaskCreateForm | None = None,
               fields_form: CustomFieldValuesForm | None = None, status_code: int = 200) -> HttpResponse:
    """The board's page, as kanban columns or as a list (``?view=list``), with its filters;
    ``create_form`` and ``fields_form``: the new-task form as it was sent, when it was refused."""
    agents = list(Agent.objects.filter(board=board).order_by("name", "id"))
    definitions = list(board.custom_fields.order_by("label", "id"))
    filters, tags = _filters_for(request, board, agents, definitions)
    context: dict[str, Any] = {"board": board, "statuses": STATUSES,
                               "create_form": create_form or TaskCreateForm(
                                   agents=Agent.objects.filter(board=board)).offer(agents),
                               "fields_form": fields_form or CustomFieldValuesForm(definitions=definitions),
                               "create_refused": create_form is not None,
                               "definitions": definitions, "tags": tags, "filters": filters,
                               "priorities": Task.Priority.choices, "due_filters": DUE_FILTERS,
                               "unassigned": UNASSIGNED,
                               "rules": [(RULE_LABELS[name], getattr(board, name), text)
                                         for name, text in RULE_HELP.items()],
                               "agents": agents, "can_admin": access.is_admin(request.user, board.organization_id),
                               "paused": queries.board_paused(board),
                               # Each view with the same filters; the filter form keeps the view.
                               "view_urls": view_urls(request.GET),
                               "clear_url": "?view=list" if filters.view == "list" else "?"}
    context["goal_metrics"] = [
        (name, target if isinstance(target, str) else json.dumps(target, ensure_ascii=False))
        for name, target in (board.success_metrics or {}).items()]
    if filters.view == "list":
        tasks = paginate(request, filters.ordered(filters.apply(board_tasks(board))))
        tasks.object_list = list(tasks.object_list)
        _attach_tags(tasks.object_list)
        context.update({"page_obj": tasks, "sorts": sort_links(filters), "list_heading":
                        " · ".join(filters.headings()) or "All tasks", "empty_sentence": filters.empty_sentence()})
    else:
        context.update(_board_body_context(request, board, filters))
        context["etag"] = etag_for("board", *board_fingerprint(board), request.GET.urlencode())
        context["live_ticket"] = live.ticket([live.board_scope(board.pk)])
        context["live_query"] = request.GET.urlencode()
    return page(request, "agents/board.html", "boards", context, status=status_code)


@login_required
def board_live(request: ConsoleRequest, board_id: Any) -> HttpResponse:
    board = access.get_board_for(request.user, board_id)
    etag = etag_for("board", *board_fingerprint(board), request.GET.urlencode())

    def fragment() -> HttpResponse:
        agents = list(Agent.objects.filter(board=board).order_by("name", "id")) if "assignee" in request.GET else []
        definitions = list(board.custom_fields.order_by("label", "id")) if "field" in request.GET else []
        filters, _ = _filters_for(request, board, agents, definitions)
        return render(request, "agents/_board_columns.html", _board_body_context(request, board, filters))

    return live_fragment(request, etag, fragment, [live.board_scope(board.pk)])


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
