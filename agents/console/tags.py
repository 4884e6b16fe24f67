"""Tags in the console: an organization's labels for tasks, created, renamed, recoloured, deleted.

Changes go through ``agents.rules.tags``, as the API's do.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from agents import access, rules
from agents.console.common import admin_only, forbidden, page, paginate
from agents.console.forms import TagForm
from agents.http import ConsoleRequest
from agents.refusals import RuleViolation


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def tags(request: ConsoleRequest) -> HttpResponse:
    admin_orgs = access.admin_organizations(request.user)
    form = TagForm(request.POST or None, organizations=admin_orgs) if admin_orgs.exists() else None
    status = 200
    if request.method == "POST":
        if form is None:
            return forbidden(request, "Only an owner or admin of an organization may create a tag.", "tags")
        if form.is_valid():
            try:
                tag = rules.create_tag(request.user, form.cleaned_data["organization"], form.tag_data())
            except RuleViolation as exc:
                form.add_refusal(exc)
            else:
                messages.success(request, f"Tag “{tag.name}” created.")
                return redirect("console:tags")
        status = 422
    listing = (access.visible_tags(request.user).select_related("organization")
               .annotate(task_count=Count("tasks")).order_by("name", "id"))
    admin_org_ids = set(admin_orgs.values_list("pk", flat=True))
    return page(request, "agents/tags.html", "tags", {
        "page_obj": paginate(request, listing), "form": form, "admin_org_ids": admin_org_ids}, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def tag_edit(request: ConsoleRequest, tag_id: Any) -> HttpResponse:
    tag = access.get_tag_for(request.user, tag_id)
    if not access.is_admin(request.user, tag.organization_id):
        return forbidden(request, admin_only("change a tag"), "tags")
    form = TagForm(request.POST or None, organizations=access.admin_organizations(request.user), tag=tag)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rules.update_tag(request.user, tag, form.tag_data())
            except RuleViolation as exc:
                form.add_refusal(exc)
            else:
                messages.success(request, f"Tag “{tag.name}” saved.")
                return redirect("console:tags")
        status = 422
    return page(request, "agents/tag_form.html", "tags", {"form": form, "tag": tag}, status=status)


@login_required
@require_POST
def tag_delete(request: ConsoleRequest, tag_id: Any) -> HttpResponse:
    tag = access.get_tag_for(request.user, tag_id)
    if not access.is_admin(request.user, tag.organization_id):
        return forbidden(request, admin_only("delete a tag"), "tags")
    name = tag.name
    rules.delete_tag(request.user, tag)
    messages.success(request, f"Tag “{name}” deleted; tasks no longer carry it.")
    return redirect("console:tags")
