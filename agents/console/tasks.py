"""Console pages of tasks: create, move, edit, comment, relations, approval requests, delete.

Each form becomes a call to ``agents.rules``; a refusal shows the sentence the API puts
in ``detail.message``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError as ApiValidationError

from agents import access, rules
from agents.console.common import page, refusal_text, validation_text
from agents.console.forms import (
    ApprovalRequestForm,
    CommentForm,
    CustomFieldValuesForm,
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
from missioncontrol.lookups import get_or_404

# Tasks offered in a task's dependency menu (besides its current dependencies).
DEPENDENCY_CHOICES = 100


def _refuse(request: ConsoleRequest, exc: Exception) -> None:
    if isinstance(exc, RuleViolation):
        messages.error(request, refusal_text(exc))
    elif isinstance(exc, ApiValidationError):
        messages.error(request, validation_text(exc.detail))
    else:
        raise exc


@login_required
@require_POST
def task_create(request: ConsoleRequest, board_id: Any) -> HttpResponse:
    board = access.get_board_for(request.user, board_id)
    form = TaskCreateForm(request.POST, agents=Agent.objects.filter(board=board))
    fields_form = CustomFieldValuesForm(request.POST, definitions=board_definitions(board))
    if not (form.is_valid() & fields_form.is_valid()):
        problems = {**form.errors, **fields_form.errors}
        labels = {**{name: field.label for name, field in form.fields.items()},
                  **{name: field.label for name, field in fields_form.fields.items()}}
        messages.error(request, "The task was not created: " + " ".join(
            f"{labels.get(name) or name}: {' '.join(str(error) for error in errors)}" for name, errors in problems.items()))
        return redirect("console:board", board_id=board.pk)
    data: dict[str, Any] = {"title": form.cleaned_data["title"], "description": form.cleaned_data["description"],
                            "priority": form.cleaned_data["priority"]}
    if form.cleaned_data["assigned_agent"] is not None:
        data["assigned_agent_id"] = form.cleaned_data["assigned_agent"].pk
    values = {key: value for key, value in fields_form.values().items() if value is not None}
    if values:
        data["custom_field_values"] = values
    try:
        task = rules.create_task(request.user, board, data)
    except (RuleViolation, ApiValidationError) as exc:
        _refuse(request, exc)
        return redirect("console:board", board_id=board.pk)
    messages.success(request, f"Task “{task.title}” created.")
    return redirect("console:board", board_id=board.pk)


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
    try:
        rules.update_task(request.user, task, changes, comment=form.cleaned_data["comment"] or None)
    except (RuleViolation, ApiValidationError) as exc:
        _refuse(request, exc)
        return redirect(back)
    messages.success(request, f"“{task.title}” moved to {Task.Status(changes['status']).label}.")
    return redirect(back)


@login_required
@require_POST
def task_edit(request: ConsoleRequest, board_id: Any, task_id: Any) -> HttpResponse:
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
def task_comment(request: ConsoleRequest, board_id: Any, task_id: Any) -> HttpResponse:
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
def task_request_approval(request: ConsoleRequest, board_id: Any, task_id: Any) -> HttpResponse:
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
def task_detail(request: ConsoleRequest, board_id: Any, task_id: Any) -> HttpResponse:
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
    definitions = board_definitions(board)
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
        "fields_form": CustomFieldValuesForm(definitions=definitions, values=task.custom_field_values),
        "field_values": [(d, task.custom_field_values.get(d.field_key)) for d in definitions],
        "has_pending_approval": any(a.status == Approval.Status.PENDING for a in approvals),
    })



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
def task_custom_fields(request: ConsoleRequest, board_id: Any, task_id: Any) -> HttpResponse:
    board, task = _get_task(request, board_id, task_id)
    back = reverse("console:task", args=[board.pk, task.pk])
    form = CustomFieldValuesForm(request.POST, definitions=board_definitions(board))
    if not form.is_valid():
        messages.error(request, "The custom fields were not saved: " + " ".join(
            f"{form.fields[name].label or name}: {' '.join(str(error) for error in errors)}"
            for name, errors in form.errors.items()))
        return redirect(back + "#custom-fields")
    changes = form.changes(task.custom_field_values)
    if not changes:
        messages.info(request, "Nothing changed.")
        return redirect(back + "#custom-fields")
    try:
        rules.update_task(request.user, task, {"custom_field_values": changes})
    except (RuleViolation, ApiValidationError) as exc:
        _refuse(request, exc)
        return redirect(back + "#custom-fields")
    messages.success(request, "Custom fields saved.")
    return redirect(back + "#custom-fields")
