"""Console pages of tasks: create, move, edit, comment, relations, approval requests, delete.

Each form becomes a call to ``agents.rules``; a refusal shows the sentence the API puts
in ``detail.message``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import Case, Q, Value, When
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError as ApiValidationError

from agents import access, live, rules
from agents.console.boards import board_page
from agents.console.common import etag_for, live_fragment, page, refusal_text, validation_text
from agents.console.events import describe_events
from agents.console.forms import (
    ApprovalRequestForm,
    CommentForm,
    CustomFieldValuesForm,
    RuleForm,
    TaskCreateForm,
    TaskEditForm,
    TaskMoveForm,
    TaskRelationsForm,
)
from agents.http import ConsoleRequest
from agents.models import (
    ActivityEvent,
    Agent,
    Approval,
    Board,
    CustomFieldDefinition,
    Tag,
    Task,
    TaskComment,
)
from agents.refusals import RuleViolation
from missioncontrol.lookups import get_or_404, parse_uuid

# Tasks offered in a task's dependency list (besides its current dependencies).
DEPENDENCY_CHOICES = 100
# The event a change made in the task drawer sends (HX-Trigger): the board refreshes its columns.
TASK_CHANGED_EVENT = "mc-task-changed"
# Ids of the drawer's edit form: the board page has a new-task form with the same field names.
DRAWER_AUTO_ID = "drawer-%s"


def _refuse(request: ConsoleRequest, exc: Exception) -> None:
    if isinstance(exc, RuleViolation):
        messages.error(request, refusal_text(exc))
    elif isinstance(exc, ApiValidationError):
        messages.error(request, validation_text(exc.detail))
    else:
        raise exc


def _refuse_on(form: RuleForm, exc: Exception) -> None:
    """A rule's refusal on the form that was sent, which is shown again as it was typed."""
    if isinstance(exc, RuleViolation):
        form.add_refusal(exc)
    elif isinstance(exc, ApiValidationError):
        form.add_api_errors(exc.detail)
    else:
        raise exc


@login_required
@require_POST
def task_create(request: ConsoleRequest, board_id: Any) -> HttpResponse:
    board = access.get_board_for(request.user, board_id)
    form = TaskCreateForm(request.POST, agents=Agent.objects.filter(board=board))
    fields_form = CustomFieldValuesForm(request.POST, definitions=board_definitions(board))
    if form.is_valid() & fields_form.is_valid():
        data: dict[str, Any] = {"title": form.cleaned_data["title"], "description": form.cleaned_data["description"],
                                "priority": form.cleaned_data["priority"]}
        if form.cleaned_data["assigned_agent"] is not None:
            data["assigned_agent_id"] = form.cleaned_data["assigned_agent"].pk
        if form.cleaned_data["due_at"] is not None:
            data["due_at"] = form.cleaned_data["due_at"]
        values = {key: value for key, value in fields_form.values().items() if value is not None}
        if values:
            data["custom_field_values"] = values
        try:
            task = rules.create_task(request.user, board, data)
        except (RuleViolation, ApiValidationError) as exc:
            _refuse_on(form, exc)
        else:
            messages.success(request, f"Task “{task.title}” created.")
            return redirect("console:board", board_id=board.pk)
    return board_page(request, board, create_form=form, fields_form=fields_form, status_code=422)


def board_definitions(board: Board) -> list[CustomFieldDefinition]:
    return list(board.custom_fields.order_by("label", "id"))


def _get_task(request: ConsoleRequest, board_id: Any, task_id: Any) -> tuple[Board, Task]:
    board = access.get_board_for(request.user, board_id)
    task = get_or_404(Task.objects.select_related("assigned_agent", "created_by_user", "created_by_agent")
                      .filter(board=board), task_id)
    task.board = board
    return board, task


def _back_to(request: ConsoleRequest, default: str) -> str:
    target = request.POST.get("back", "")
    # Only our own paths: never an absolute URL from a form field.
    return target if target.startswith("/") and not target.startswith("//") else default


@login_required
@require_POST
def task_move(request: ConsoleRequest, board_id: Any, task_id: Any) -> HttpResponse:
    board, task = _get_task(request, board_id, task_id)
    form = TaskMoveForm(request.POST)
    back = _back_to(request, reverse("console:board", args=[board.pk]))
    if not form.is_valid():
        messages.error(request, "Choose a status to move the task to.")
        return redirect(back)
    changes: dict[str, Any] = {"status": form.cleaned_data["status"]}
    label = Task.Status(changes["status"]).label
    if changes["status"] == task.status and not form.cleaned_data["comment"]:
        messages.info(request, f"“{task.title}” is already in {label}; nothing changed.")
        return redirect(back)
    try:
        rules.update_task(request.user, task, changes, comment=form.cleaned_data["comment"] or None)
    except (RuleViolation, ApiValidationError) as exc:
        _refuse(request, exc)
        return redirect(back)
    messages.success(request, f"“{task.title}” moved to {label}.")
    return redirect(back)


@login_required
@require_POST
def task_reorder(request: ConsoleRequest, board_id: Any, task_id: Any) -> HttpResponse:
    """The card's up and down buttons (``direction``) and a card dropped between two others
    (``position``, its new place, 0 for the top): the same rule as the API's reorder route.
    ``column`` is the status the board showed the card in.
    The board's script sends ``X-Requested-With: fetch`` and gets the sentence as plain text
    (the rule's status on a refusal) instead of a redirect to the board."""
    board, task = _get_task(request, board_id, task_id)
    direction = request.POST.get("direction", "")
    asked = request.POST.get("position")
    position: Any = None
    if asked is not None:
        try:
            position = int(asked)
        except ValueError:
            position = asked  # the rule refuses it with its sentence
    scripted = request.headers.get("X-Requested-With") == "fetch"
    back = reverse("console:board", args=[board.pk]) + f"#task-{task.pk}"
    label = Task.Status(task.status).label
    try:
        place = rules.move_task_within_column(request.user, task, direction or None, position=position,
                                              column=request.POST.get("column") or None)
    except RuleViolation as exc:
        if scripted:
            return HttpResponse(refusal_text(exc), status=exc.status_code, content_type="text/plain; charset=utf-8")
        messages.error(request, refusal_text(exc))
        return redirect(back)
    done = (f"“{task.title}” is now number {place + 1} in {label}." if position is not None
            else f"“{task.title}” moved {direction} in {label}.")
    if scripted:
        return HttpResponse(done, content_type="text/plain; charset=utf-8")
    messages.success(request, done)
    return redirect(back)


@login_required
@require_POST
def task_edit(request: ConsoleRequest, board_id: Any, task_id: Any) -> HttpResponse:
    board, task = _get_task(request, board_id, task_id)
    form = TaskEditForm(request.POST, agents=Agent.objects.filter(board=board))
    back = reverse("console:task", args=[board.pk, task.pk])
    if not form.is_valid():
        return _task_page(request, board, task, edit_form=form)
    changes: dict[str, Any] = {}
    for name in ("title", "description"):
        if form.cleaned_data[name] != getattr(task, name):
            changes[name] = form.cleaned_data[name]
    if form.cleaned_data["status"] != task.status:
        changes["status"] = form.cleaned_data["status"]
    if form.cleaned_data["priority"] != task.priority:
        changes["priority"] = form.cleaned_data["priority"]
    # The input holds minutes: a due time with seconds that shows the same minute is unchanged.
    due_at = form.cleaned_data["due_at"]
    if due_at != (task.due_at.replace(second=0, microsecond=0) if task.due_at else None):
        changes["due_at"] = due_at
    assignee = form.cleaned_data["assigned_agent"]
    if (assignee.pk if assignee else None) != task.assigned_agent_id:
        changes["assigned_agent_id"] = assignee.pk if assignee else None
    comment = form.cleaned_data["comment"] or None
    if not changes and comment is None:
        if request.htmx:
            return _task_page(request, board, task, notice="Nothing changed.")
        messages.info(request, "Nothing changed.")
        return redirect(back)
    try:
        rules.update_task(request.user, task, changes, comment=comment)
    except (RuleViolation, ApiValidationError) as exc:
        _refuse_on(form, exc)
        # What the task is now, beside what was asked of it.
        task.refresh_from_db()
        return _task_page(request, board, task, edit_form=form)
    if request.htmx:
        return _drawer_after_change(request, board, task, "Task updated.")
    messages.success(request, "Task updated.")
    return redirect(back)


@login_required
@require_POST
def task_comment(request: ConsoleRequest, board_id: Any, task_id: Any) -> HttpResponse:
    board, task = _get_task(request, board_id, task_id)
    form = CommentForm(request.POST)
    back = reverse("console:task", args=[board.pk, task.pk])
    if form.is_valid():
        try:
            rules.add_comment(request.user, task, form.cleaned_data["message"])
        except (RuleViolation, ApiValidationError) as exc:
            _refuse_on(form, exc)
        else:
            if request.htmx:
                return _drawer_after_change(request, board, task, "Comment posted.")
            messages.success(request, "Comment posted.")
            return redirect(back + "#comments")
    return _task_page(request, board, task, comment_form=form)


@login_required
@require_POST
def task_request_approval(request: ConsoleRequest, board_id: Any, task_id: Any) -> HttpResponse:
    board, task = _get_task(request, board_id, task_id)
    form = ApprovalRequestForm(request.POST)
    back = reverse("console:task", args=[board.pk, task.pk])
    if form.is_valid():
        data = {"action_type": form.cleaned_data["action_type"], "task_id": task.pk,
                "lead_reasoning": form.cleaned_data["reasoning"], "confidence": form.cleaned_data["confidence"]}
        try:
            rules.request_approval(request.user, board, data)
        except (RuleViolation, ApiValidationError) as exc:
            _refuse_on(form, exc)
        else:
            if request.htmx:
                return _drawer_after_change(request, board, task, "Approval requested. It waits in the approvals queue.",
                                            saved="approvals")
            messages.success(request, "Approval requested. It waits in the approvals queue.")
            return redirect(back)
    return _task_page(request, board, task, approval_form=form)


def _relations_form(board: Board, task: Task, data: Any = None, *, current_ids: list[Any] | None = None,
                    tag_ids: list[Any] | None = None) -> TaskRelationsForm:
    """Validation accepts any task of the board; the list offers the current dependencies and
    the most recently changed tasks (and, on a refusal, the ones that were picked), the chosen
    ones first (those sent, on a refusal), then by title."""
    if current_ids is None:
        current_ids = list(Task.objects.filter(dependent_links__task=task).values_list("pk", flat=True))
    if tag_ids is None:
        tag_ids = list(task.tags.values_list("pk", flat=True))
    chosen: list[Any] = list(current_ids)
    offered = Q(pk__in=current_ids) | Q(pk__in=Task.objects.filter(board=board).exclude(pk=task.pk)
                                         .order_by("-updated_at").values("pk")[:DEPENDENCY_CHOICES])
    if data is not None:
        chosen = [value for value in data.getlist("depends_on") if parse_uuid(value)]
        offered |= Q(pk__in=chosen)
    tasks = (Task.objects.filter(Q(board=board) & offered).only("id", "title", "status")
             .annotate(unchosen=Case(When(pk__in=chosen, then=Value(0)), default=Value(1)))
             .order_by("unchosen", "title"))
    return TaskRelationsForm(
        data, tasks=tasks,
        tags=Tag.objects.filter(organization_id=board.organization_id).order_by("name"),
        initial={"depends_on": current_ids, "tags": tag_ids})


def _refusals(*forms: RuleForm | None) -> list[str]:
    """The sentences of the refused form, for the drawer's alert (screen readers hear it; the
    same sentences show beside the form): one above the form as it is, one under a field led by
    the field's label."""
    sentences: list[str] = []
    for form in forms:
        if form is None:
            continue
        for name, errors in form.errors.items():
            lead = "" if name == NON_FIELD_ERRORS else f"{form.label_of(name)}: "
            sentences.extend(lead + str(error) for error in errors)
    return sentences


def _drawer_after_change(request: ConsoleRequest, board: Board, task: Task, notice: str, *,
                         saved: str = "") -> HttpResponse:
    """The drawer shows the task as it is now; the board behind it refreshes its columns.
    ``saved`` names the section whose form was sent: it stays open, and its heading takes the
    focus should the control that sent the form be gone (console.js)."""
    board, task = _get_task(request, board.pk, task.pk)
    response = _task_page(request, board, task, notice=notice, saved=saved)
    response["HX-Trigger"] = TASK_CHANGED_EVENT
    return response


def _task_page(request: ConsoleRequest, board: Board, task: Task, *, edit_form: TaskEditForm | None = None,
               comment_form: CommentForm | None = None, approval_form: ApprovalRequestForm | None = None,
               relations_form: TaskRelationsForm | None = None,
               fields_form: CustomFieldValuesForm | None = None, notice: str = "", saved: str = "",
               live_view: str = "", live_context: dict[str, str] | None = None) -> HttpResponse:
    """The task's page; a form given is one that was refused, shown again as it was sent (422).

    An htmx request (the board's task drawer) gets the drawer's fragment instead, made of the
    page's own partials, with ``notice`` said in the drawer's status line. ``live_view``
    ("page" or "drawer"): the live fragment of that view (:func:`task_live`), whose ETag and
    ticket are ``live_context``."""
    drawer = bool(request.htmx) or live_view == "drawer"
    agents = Agent.objects.filter(board=board).order_by("name")
    comments = list(TaskComment.objects.filter(task=task).select_related("author_user", "author_agent")
                    .order_by("created_at")[:200])
    depends_on = list(Task.objects.filter(dependent_links__task=task).only("id", "title", "status", "board_id"))
    dependents = list(Task.objects.filter(dependency_links__depends_on=task).only("id", "title", "status", "board_id"))
    approvals = list(Approval.objects.filter(task_links__task=task).select_related("agent", "resolved_by",
                                                                                   "requested_by_user")
                     .order_by("-created_at")[:20])
    # The drawer links to the history on the full page instead of showing it.
    history = [] if drawer or live_view else list(ActivityEvent.objects.filter(task_id=task.pk).order_by("-created_at")[:50])
    refused = any(form is not None for form in (edit_form, comment_form, approval_form, relations_form,
                                                 fields_form))
    definitions = board_definitions(board)
    tags = list(task.tags.all())
    context: dict[str, Any] = {
        "board": board, "task": task, "comments": comments, "board_agents": list(agents), "depends_on": depends_on,
        "dependents": dependents, "blocked_by": [t for t in depends_on if t.status != Task.Status.DONE],
        "approvals": approvals, "history": describe_events(history, request.user), "tags": tags,
        "edit_form": edit_form or TaskEditForm(agents=agents, initial={
            "title": task.title, "description": task.description, "status": task.status,
            "priority": task.priority, "assigned_agent": task.assigned_agent_id, "due_at": task.due_at}),
        "edit_refused": edit_form is not None,
        "comment_form": comment_form or CommentForm(),
        "approval_form": approval_form or ApprovalRequestForm(), "approval_refused": approval_form is not None,
        "relations_form": relations_form or _relations_form(board, task, current_ids=[t.pk for t in depends_on],
                                                            tag_ids=[t.pk for t in tags]),
        "relations_refused": relations_form is not None,
        "fields_form": fields_form or CustomFieldValuesForm(definitions=definitions, values=task.custom_field_values),
        "field_values": [(d, task.custom_field_values.get(d.field_key)) for d in definitions],
        "has_pending_approval": any(a.status == Approval.Status.PENDING for a in approvals),
    }
    status = 422 if refused else 200
    context.update(live_context or _live_context(board, task, "drawer" if drawer else "page"))
    if drawer:
        for name in ("edit_form", "comment_form", "approval_form", "relations_form", "fields_form"):
            context[name].auto_id = DRAWER_AUTO_ID
        context.update(drawer=True, notice=notice, saved=saved, refusals=_refusals(edit_form, comment_form, approval_form,
                                                                       relations_form, fields_form))
        response = render(request, "agents/_task_drawer.html", context, status=status)
    elif live_view:
        response = render(request, "agents/_task_parts.html", context, status=status)
    else:
        response = page(request, "agents/task.html", "boards", context, status=status)
    # One URL, two answers (the page, the drawer's fragment): caches must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
def task_detail(request: ConsoleRequest, board_id: Any, task_id: Any) -> HttpResponse:
    board, task = _get_task(request, board_id, task_id)
    return _task_page(request, board, task)


def _live_context(board: Board, task: Task, view: str) -> dict[str, str]:
    """The live region's ETag and ticket: the task changes only with an event of its board,
    so the board's change stamp is the fingerprint (a change to another task of the board
    costs an open task one fragment, whose unchanged parts are put back as they were)."""
    scopes = [live.board_scope(board.pk)]
    return {"etag": etag_for("task", view, task.pk, live.version(scopes)), "live_ticket": live.ticket(scopes)}


@login_required
def task_live(request: ConsoleRequest, board_id: Any, task_id: Any) -> HttpResponse:
    """The live fragment of a task's page (``?in=drawer``: of the board's drawer)."""
    board, task = _get_task(request, board_id, task_id)
    view = "drawer" if request.GET.get("in") == "drawer" else "page"
    current = _live_context(board, task, view)
    return live_fragment(request, current["etag"],
                         lambda: _task_page(request, board, task, live_view=view, live_context=current),
                         [live.board_scope(board.pk)])


@login_required
@require_POST
def task_delete(request: ConsoleRequest, board_id: Any, task_id: Any) -> HttpResponse:
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
@require_POST
def task_relations(request: ConsoleRequest, board_id: Any, task_id: Any) -> HttpResponse:
    board, task = _get_task(request, board_id, task_id)
    back = reverse("console:task", args=[board.pk, task.pk])
    form = _relations_form(board, task, request.POST)
    if form.is_valid():
        changes = {"depends_on_task_ids": [str(t.pk) for t in form.cleaned_data["depends_on"]],
                   "tag_ids": [str(t.pk) for t in form.cleaned_data["tags"]]}
        try:
            rules.update_task(request.user, task, changes)
        except (RuleViolation, ApiValidationError) as exc:
            _refuse_on(form, exc)
        else:
            if request.htmx:
                return _drawer_after_change(request, board, task, "Dependencies and tags saved.", saved="relations")
            messages.success(request, "Dependencies and tags saved.")
            return redirect(back)
    return _task_page(request, board, task, relations_form=form)


@login_required
@require_POST
def task_custom_fields(request: ConsoleRequest, board_id: Any, task_id: Any) -> HttpResponse:
    board, task = _get_task(request, board_id, task_id)
    back = reverse("console:task", args=[board.pk, task.pk])
    form = CustomFieldValuesForm(request.POST, definitions=board_definitions(board))
    if form.is_valid():
        changes = form.changes(task.custom_field_values)
        if not changes:
            if request.htmx:
                return _task_page(request, board, task, notice="Nothing changed.")
            messages.info(request, "Nothing changed.")
            return redirect(back + "#custom-fields")
        try:
            rules.update_task(request.user, task, {"custom_field_values": changes})
        except (RuleViolation, ApiValidationError) as exc:
            _refuse_on(form, exc)
        else:
            if request.htmx:
                return _drawer_after_change(request, board, task, "Custom fields saved.", saved="fields")
            messages.success(request, "Custom fields saved.")
            return redirect(back + "#custom-fields")
    return _task_page(request, board, task, fields_form=form)
