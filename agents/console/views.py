"""Console pages of the work domain: dashboard, boards, a board's kanban, a task.

Views translate a form into a call to ``agents.rules`` and the answer into a page; a
refusal shows the sentence the API would put in ``detail.message``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import ValidationError as ApiValidationError

from agents import access, activity, rules
from agents.console import dashboard as dashboard_data
from agents.console.common import (
    etag_for,
    live_fragment,
    page,
    paginate,
    refusal_text,
    validation_text,
)
from agents.console.forms import (
    RULE_HELP,
    ApprovalRequestForm,
    BoardForm,
    CommentForm,
    MemoryForm,
    TaskCreateForm,
    TaskEditForm,
    TaskMoveForm,
    TaskRelationsForm,
)
from agents.models import (
    ActivityEvent,
    Agent,
    Approval,
    ApprovalTask,
    Board,
    BoardMemory,
    Tag,
    Task,
    TaskComment,
    TaskDependency,
)
from agents.refusals import RuleViolation

# Tasks offered in a task's dependency menu (besides its current dependencies).
DEPENDENCY_CHOICES = 100
# Cards per kanban column; the rest of a column is one click away, paged.
COLUMN_LIMIT = 30
STATUSES = list(Task.Status.choices)
# The card's move menu offers the next step of the workflow first, then the others in order.
MOVE_CHOICES = {value: STATUSES[index + 1:] + STATUSES[:index] for index, (value, _label) in enumerate(STATUSES)}


# --- dashboard -------------------------------------------------------------------------------


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    context = dashboard_data.context_for(request.user, request.GET)
    return page(request, "agents/dashboard.html", "dashboard", context)


@login_required
def dashboard_live(request: HttpRequest) -> HttpResponse:
    params = request.GET
    etag = etag_for("dashboard", dashboard_data.fingerprint(request.user))

    def render_fragment() -> HttpResponse:
        return render(request, "agents/_dashboard_body.html", dashboard_data.context_for(request.user, params))

    return live_fragment(request, etag, render_fragment)


# --- boards ----------------------------------------------------------------------------------


@login_required
def boards(request: HttpRequest) -> HttpResponse:
    queryset = (access.visible_boards(request.user).select_related("organization", "gateway")
                .annotate(task_count=Count("tasks", distinct=True),
                          open_count=Count("tasks", filter=~Q(tasks__status=Task.Status.DONE), distinct=True))
                .order_by("name"))
    board_page = paginate(request, queryset)
    return page(request, "agents/boards.html", "boards", {
        "page_obj": board_page,
        "can_create": access.admin_organizations(request.user).exists(),
    })


def _board_form(request: HttpRequest, instance: Board | None) -> BoardForm:
    organizations = access.admin_organizations(request.user)
    gateways = access.visible_gateways(request.user)
    if instance is not None:
        gateways = gateways.filter(organization_id=instance.organization_id)
    return BoardForm(request.POST or None, instance=instance, organizations=organizations, gateways=gateways)


def _rule_fields(form: BoardForm) -> list[Any]:
    return [form[name] for name in RULE_HELP if name in form.fields]


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def board_create(request: HttpRequest) -> HttpResponse:
    if not access.admin_organizations(request.user).exists():
        # 403 as the API answers a member who creates a board: the page exists, the right is missing.
        return page(request, "console/forbidden.html", "boards",
                    {"reason": "Only an owner or admin of an organization may create a board."}, status=403)
    form = _board_form(request, None)
    if request.method == "POST" and form.is_valid():
        board = form.save()
        activity.record("board.created", actor=request.user, board=board, message=f"Board {board.name} created")
        messages.success(request, f"Board “{board.name}” created. Add a task or an agent to get started.")
        return redirect("console:board", board_id=board.pk)
    return page(request, "agents/board_form.html", "boards", {"form": form, "rule_fields": _rule_fields(form)})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def board_edit(request: HttpRequest, board_id: Any) -> HttpResponse:
    board = access.get_board_for(request.user, board_id)
    if not access.is_admin(request.user, board.organization_id):
        return page(request, "console/forbidden.html", "boards",
                    {"reason": "Only an owner or admin of the organization may change a board."}, status=403)
    form = _board_form(request, board)
    if request.method == "POST" and form.is_valid():
        changed = list(form.changed_data)
        board = form.save()
        activity.record("board.updated", actor=request.user, board=board,
                        message=f"Board {board.name} updated", data={"changed": changed})
        messages.success(request, "Board saved.")
        return redirect("console:board", board_id=board.pk)
    return page(request, "agents/board_form.html", "boards",
                {"form": form, "board": board, "rule_fields": _rule_fields(form)})


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
        for task in tasks:
            # Built once here: a reverse() per card and link is most of a big board's render time.
            task.url = f"{board_url}tasks/{task.pk}/"
            task.move_url = f"{task.url}move"
            task.move_choices = MOVE_CHOICES[task.status]
        columns.append({"status": value, "label": name, "tasks": tasks, "total": total,
                        "hidden": max(0, total - len(tasks))})
    return columns


def _board_body_context(request: HttpRequest, board: Board) -> dict[str, Any]:
    # Everyone who sees the board gets the move menus; agents.rules decides each move.
    return {"board": board, "columns": _board_columns(board), "statuses": STATUSES}


@login_required
def board_detail(request: HttpRequest, board_id: Any) -> HttpResponse:
    board = access.get_board_for(request.user, board_id)
    status = request.GET.get("status")
    agents = Agent.objects.filter(board=board).order_by("name")
    context: dict[str, Any] = {"board": board, "statuses": STATUSES,
                               "create_form": TaskCreateForm(agents=agents),
                               "rules": [(BoardForm.Meta.labels[name], getattr(board, name), text)
                                         for name, text in RULE_HELP.items()],
                               "agents": agents, "can_admin": access.is_admin(request.user, board.organization_id)}
    if status in Task.Status.values:
        # One column in full, paged: the kanban only shows the most recent cards of each.
        context["list_status"] = status
        context["list_label"] = Task.Status(status).label
        context["page_obj"] = paginate(request, board_tasks(board).filter(status=status).order_by("-updated_at"))
    else:
        context.update(_board_body_context(request, board))
        context["etag"] = etag_for("board", *board_fingerprint(board))
    return page(request, "agents/board.html", "boards", context)


@login_required
def board_live(request: HttpRequest, board_id: Any) -> HttpResponse:
    board = access.get_board_for(request.user, board_id)
    etag = etag_for("board", *board_fingerprint(board))
    return live_fragment(request, etag, lambda: render(request, "agents/_board_columns.html",
                                                       _board_body_context(request, board)))


# --- tasks -----------------------------------------------------------------------------------


def _refuse(request: HttpRequest, exc: Exception) -> None:
    if isinstance(exc, RuleViolation):
        messages.error(request, refusal_text(exc))
    elif isinstance(exc, ApiValidationError):
        messages.error(request, validation_text(exc.detail))
    else:
        raise exc


@login_required
@require_POST
def task_create(request: HttpRequest, board_id: Any) -> HttpResponse:
    board = access.get_board_for(request.user, board_id)
    form = TaskCreateForm(request.POST, agents=Agent.objects.filter(board=board))
    if not form.is_valid():
        messages.error(request, "The task was not created: " + " ".join(
            f"{form.fields[name].label or name}: {' '.join(errors)}" for name, errors in form.errors.items()))
        return redirect("console:board", board_id=board.pk)
    data = {"title": form.cleaned_data["title"], "description": form.cleaned_data["description"],
            "priority": form.cleaned_data["priority"]}
    if form.cleaned_data["assigned_agent"] is not None:
        data["assigned_agent_id"] = form.cleaned_data["assigned_agent"].pk
    try:
        task = rules.create_task(request.user, board, data)
    except (RuleViolation, ApiValidationError) as exc:
        _refuse(request, exc)
        return redirect("console:board", board_id=board.pk)
    messages.success(request, f"Task “{task.title}” created.")
    return redirect("console:board", board_id=board.pk)


def _get_task(request: HttpRequest, board_id: Any, task_id: Any) -> tuple[Board, Task]:
    board = access.get_board_for(request.user, board_id)
    try:
        task = Task.objects.select_related("assigned_agent", "created_by_user", "created_by_agent").get(
            board=board, pk=task_id)
    # A malformed id is as unknown as a missing task.
    except (Task.DoesNotExist, DjangoValidationError, ValueError, TypeError) as exc:
        raise Http404 from exc
    task.board = board
    return board, task


def _back_to(request: HttpRequest, default: str) -> str:
    target = request.POST.get("back", "")
    # Only our own paths: never an absolute URL from a form field.
    return target if target.startswith("/") and not target.startswith("//") else default


@login_required
@require_POST
def task_move(request: HttpRequest, board_id: Any, task_id: Any) -> HttpResponse:
    board, task = _get_task(request, board_id, task_id)
    form = TaskMoveForm(request.POST)
    back = _back_to(request, reverse("console:board", args=[board.pk]))
    if not form.is_valid():
        messages.error(request, "Choose a status to move the task to.")
        return redirect(back)
    changes: dict[str, Any] = {"status": form.cleaned_data["status"]}
    try:
        rules.update_task(request.user, task, changes, comment=form.cleaned_data["comment"] or None)
    except (RuleViolation, ApiValidationError) as exc:
        _refuse(request, exc)
        return redirect(back)
    messages.success(request, f"“{task.title}” moved to {Task.Status(changes['status']).label}.")
    return redirect(back)


@login_required
@require_POST
def task_edit(request: HttpRequest, board_id: Any, task_id: Any) -> HttpResponse:
    board, task = _get_task(request, board_id, task_id)
    form = TaskEditForm(request.POST, agents=Agent.objects.filter(board=board))
    back = reverse("console:task", args=[board.pk, task.pk])
    if not form.is_valid():
        messages.error(request, "The change was not saved: check the fields.")
        return redirect(back)
    changes: dict[str, Any] = {}
    for name in ("title", "description"):
        if form.cleaned_data[name] != getattr(task, name):
            changes[name] = form.cleaned_data[name]
    if form.cleaned_data["status"] != task.status:
        changes["status"] = form.cleaned_data["status"]
    if form.cleaned_data["priority"] != task.priority:
        changes["priority"] = form.cleaned_data["priority"]
    assignee = form.cleaned_data["assigned_agent"]
    if (assignee.pk if assignee else None) != task.assigned_agent_id:
        changes["assigned_agent_id"] = assignee.pk if assignee else None
    comment = form.cleaned_data["comment"] or None
    if not changes and comment is None:
        messages.info(request, "Nothing changed.")
        return redirect(back)
    try:
        rules.update_task(request.user, task, changes, comment=comment)
    except (RuleViolation, ApiValidationError) as exc:
        _refuse(request, exc)
        return redirect(back)
    messages.success(request, "Task updated.")
    return redirect(back)


@login_required
@require_POST
def task_comment(request: HttpRequest, board_id: Any, task_id: Any) -> HttpResponse:
    board, task = _get_task(request, board_id, task_id)
    form = CommentForm(request.POST)
    back = reverse("console:task", args=[board.pk, task.pk])
    if not form.is_valid():
        messages.error(request, "Write a comment before posting it.")
        return redirect(back)
    try:
        rules.add_comment(request.user, task, form.cleaned_data["message"])
    except (RuleViolation, ApiValidationError) as exc:
        _refuse(request, exc)
        return redirect(back)
    messages.success(request, "Comment posted.")
    return redirect(back + "#comments")


@login_required
@require_POST
def task_request_approval(request: HttpRequest, board_id: Any, task_id: Any) -> HttpResponse:
    board, task = _get_task(request, board_id, task_id)
    form = ApprovalRequestForm(request.POST)
    back = reverse("console:task", args=[board.pk, task.pk])
    if not form.is_valid():
        messages.error(request, "An approval request needs what to approve, a reason and a confidence from 0 to 100.")
        return redirect(back)
    data = {"action_type": form.cleaned_data["action_type"], "task_id": task.pk,
            "lead_reasoning": form.cleaned_data["reasoning"], "confidence": form.cleaned_data["confidence"]}
    try:
        rules.request_approval(request.user, board, data)
    except (RuleViolation, ApiValidationError) as exc:
        _refuse(request, exc)
        return redirect(back)
    messages.success(request, "Approval requested. It waits in the approvals queue.")
    return redirect(back)


@login_required
def task_detail(request: HttpRequest, board_id: Any, task_id: Any) -> HttpResponse:
    board, task = _get_task(request, board_id, task_id)
    agents = Agent.objects.filter(board=board).order_by("name")
    comments = list(TaskComment.objects.filter(task=task).select_related("author_user", "author_agent")
                    .order_by("created_at")[:200])
    depends_on = list(Task.objects.filter(dependent_links__task=task).only("id", "title", "status", "board_id"))
    dependents = list(Task.objects.filter(dependency_links__depends_on=task).only("id", "title", "status", "board_id"))
    approvals = list(Approval.objects.filter(task_links__task=task).select_related("agent", "resolved_by",
                                                                                   "requested_by_user")
                     .order_by("-created_at")[:20])
    history = list(ActivityEvent.objects.filter(task_id=task.pk).order_by("-created_at")[:50])
    current_ids = [t.pk for t in depends_on]
    recent = (Task.objects.filter(board=board).exclude(pk=task.pk).order_by("-updated_at")
              .values("pk")[:DEPENDENCY_CHOICES])
    tags = list(task.tags.all())
    relations_form = TaskRelationsForm(
        tasks=Task.objects.filter(Q(pk__in=current_ids) | Q(pk__in=recent)).only("id", "title").order_by("title"),
        tags=Tag.objects.filter(organization_id=board.organization_id).order_by("name"),
        initial={"depends_on": current_ids, "tags": [t.pk for t in tags]})
    edit_form = TaskEditForm(agents=agents, initial={"title": task.title, "description": task.description,
                                                     "status": task.status, "priority": task.priority,
                                                     "assigned_agent": task.assigned_agent_id})
    return page(request, "agents/task.html", "boards", {
        "board": board, "task": task, "comments": comments, "depends_on": depends_on,
        "dependents": dependents, "blocked_by": [t for t in depends_on if t.status != Task.Status.DONE],
        "approvals": approvals, "history": history, "edit_form": edit_form,
        "comment_form": CommentForm(), "approval_form": ApprovalRequestForm(),
        "relations_form": relations_form, "tags": tags,
        "has_pending_approval": any(a.status == Approval.Status.PENDING for a in approvals),
    })



@login_required
@require_POST
def task_delete(request: HttpRequest, board_id: Any, task_id: Any) -> HttpResponse:
    board, task = _get_task(request, board_id, task_id)
    title = task.title
    try:
        rules.delete_task(request.user, task)
    except RuleViolation as exc:
        messages.error(request, refusal_text(exc))
        return redirect("console:task", board_id=board.pk, task_id=task_id)
    messages.success(request, f"Task “{title}” deleted. Its history stays in the activity timeline.")
    return redirect("console:board", board_id=board.pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def board_memory(request: HttpRequest, board_id: Any) -> HttpResponse:
    board = access.get_board_for(request.user, board_id)
    form = MemoryForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            tags = ["chat"] if form.cleaned_data["is_chat"] else []
            try:
                rules.create_memory(request.user, board, {"content": form.cleaned_data["content"], "tags": tags,
                                                          "source": "console"})
            except RuleViolation as exc:
                messages.error(request, refusal_text(exc))
            else:
                messages.success(request, "Posted. The board's agents read it on their next heartbeat.")
                return redirect("console:board_memory", board_id=board.pk)
    notes = BoardMemory.objects.filter(board=board).select_related("author_user", "author_agent")
    if request.GET.get("chat") == "1":
        notes = notes.filter(is_chat=True)
    return page(request, "agents/board_memory.html", "boards", {
        "board": board, "form": form, "page_obj": paginate(request, notes.order_by("-created_at")),
        "chat_only": request.GET.get("chat") == "1"})


@login_required
@require_POST
def task_relations(request: HttpRequest, board_id: Any, task_id: Any) -> HttpResponse:
    board, task = _get_task(request, board_id, task_id)
    back = reverse("console:task", args=[board.pk, task.pk])
    form = TaskRelationsForm(request.POST, tasks=Task.objects.filter(board=board),
                             tags=Tag.objects.filter(organization_id=board.organization_id))
    if not form.is_valid():
        messages.error(request, "Pick dependencies among this board's tasks and tags of its organization.")
        return redirect(back)
    changes = {"depends_on_task_ids": [str(t.pk) for t in form.cleaned_data["depends_on"]],
               "tag_ids": [str(t.pk) for t in form.cleaned_data["tags"]]}
    try:
        rules.update_task(request.user, task, changes)
    except (RuleViolation, ApiValidationError) as exc:
        _refuse(request, exc)
        return redirect(back)
    messages.success(request, "Dependencies and tags saved.")
    return redirect(back)


@login_required
@require_POST
def board_delete(request: HttpRequest, board_id: Any) -> HttpResponse:
    """Delete a board with its tasks; its activity stays (events keep plain ids)."""
    board = access.get_board_for(request.user, board_id)
    if not access.is_admin(request.user, board.organization_id):
        return page(request, "console/forbidden.html", "boards",
                    {"reason": "Only an owner or admin of the organization may delete a board."}, status=403)
    if request.POST.get("confirm_name", "").strip() != board.name:
        messages.error(request, "Type the board's name exactly to delete it.")
        return redirect("console:board_edit", board_id=board.pk)
    name = board.name
    with transaction.atomic():
        activity.record("board.deleted", actor=request.user, board=board, message=f"Board {name} deleted")
        board.delete()
    messages.success(request, f"Board “{name}” deleted. Its history stays in the activity timeline.")
    return redirect("console:boards")
