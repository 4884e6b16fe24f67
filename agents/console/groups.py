"""Board groups in the console: the list, a group's page (its boards, its memory and chat),
creating, editing (the heartbeat setting too) and deleting a group.

Changes go through ``agents.rules.groups``, as the API's do. A board joins a group on the
board's own edit page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from agents import access, queries, rules
from agents.console.common import admin_only, forbidden, page, paginate
from agents.console.forms import BoardGroupForm, MemoryForm
from agents.http import ConsoleRequest
from agents.models import Agent, BoardGroupMemory
from agents.refusals import RuleViolation

NAV = "groups"


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def groups(request: ConsoleRequest) -> HttpResponse:
    admin_orgs = access.admin_organizations(request.user)
    form = BoardGroupForm(request.POST or None, organizations=admin_orgs) if admin_orgs.exists() else None
    status = 200
    if request.method == "POST":
        if form is None:
            return forbidden(request, "Only an owner or admin of an organization may create a board group.", NAV)
        if form.is_valid():
            try:
                group = rules.create_group(request.user, form.cleaned_data["organization"], form.group_data())
            except RuleViolation as exc:
                form.add_refusal(exc)
            else:
                messages.success(request, f"Group “{group.name}” created. Put boards in it from each board's "
                                          "edit page.")
                return redirect("console:group", group_id=group.pk)
        status = 422
    # Counted among the boards they see: a member limited to some boards is not told of others.
    seen = Q(boards__in=access.visible_boards(request.user))
    listing = (access.visible_groups(request.user).select_related("organization")
               .annotate(board_count=Count("boards", filter=seen)).order_by("name", "id"))
    return page(request, "agents/groups.html", NAV, {"page_obj": paginate(request, listing), "form": form},
                status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def group_detail(request: ConsoleRequest, group_id: Any) -> HttpResponse:
    group = access.get_group_for(request.user, group_id)
    # A member limited to some boards sees the group's boards they reach, but its memory
    # only when they reach them all (``access.group_memory_access_of``).
    role, reach = access.group_standing(request.user, group)
    if request.method == "POST" and reach != "write":
        return forbidden(request, access.GROUP_MEMORY_READ_ONLY if reach == "read"
                         else access.GROUP_MEMORY_RESTRICTED, NAV)
    form = MemoryForm(request.POST or None)
    form.fields["content"].help_text = ("The agents of every board of the group read group memory on their "
                                        "heartbeat: what spans boards, decisions, answers.")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            tags = ["chat"] if form.cleaned_data["is_chat"] else []
            try:
                rules.create_group_memory(request.user, group, {"content": form.cleaned_data["content"],
                                                                "tags": tags, "source": "console"})
            except RuleViolation as exc:
                form.add_refusal(exc)
            else:
                messages.success(request, "Posted. The agents of the group's boards read it on their next "
                                          "heartbeat.")
                return redirect("console:group", group_id=group.pk)
        status = 422
    snapshot = queries.group_snapshot(group, per_board_task_limit=3, within=access.visible_boards(request.user))
    notes = BoardGroupMemory.objects.filter(group=group).select_related("author_user", "author_agent", "board")
    if reach is None:
        notes = notes.none()
    chat_only = request.GET.get("chat") == "1"
    if chat_only:
        notes = notes.filter(is_chat=True)
    return page(request, "agents/group.html", NAV, {
        "group": group, "boards": snapshot["boards"], "form": form, "chat_only": chat_only,
        "group_agents": list(Agent.objects.filter(board__group=group).order_by("name")) if reach else [],
        "page_obj": paginate(request, notes.order_by("-created_at", "id")),
        "can_admin": role in access.ADMIN_ROLES, "memory_reach": reach,
        "memory_restricted": access.GROUP_MEMORY_RESTRICTED, "memory_read_only": access.GROUP_MEMORY_READ_ONLY},
        status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def group_edit(request: ConsoleRequest, group_id: Any) -> HttpResponse:
    group = access.get_group_for(request.user, group_id)
    if not access.is_admin(request.user, group.organization_id):
        return forbidden(request, admin_only("change a board group"), NAV)
    form = BoardGroupForm(request.POST or None, organizations=access.admin_organizations(request.user), group=group)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rules.update_group(request.user, group, form.group_data())
            except RuleViolation as exc:
                form.add_refusal(exc)
            else:
                messages.success(request, f"Group “{group.name}” saved.")
                return redirect("console:group", group_id=group.pk)
        status = 422
    return page(request, "agents/group_form.html", NAV, {"form": form, "group": group}, status=status)


@login_required
@require_POST
def group_delete(request: ConsoleRequest, group_id: Any) -> HttpResponse:
    group = access.get_group_for(request.user, group_id)
    if not access.is_admin(request.user, group.organization_id):
        return forbidden(request, admin_only("delete a board group"), NAV)
    name = group.name
    rules.delete_group(request.user, group)
    messages.success(request, f"Group “{name}” deleted; its boards carry on without a group.")
    return redirect("console:groups")
