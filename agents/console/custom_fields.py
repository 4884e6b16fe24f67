"""Custom fields in the console: an organization's typed task fields, created, changed,
attached to boards and deleted.

Changes go through ``agents.rules.fields``, as the API's do.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from agents import access, rules
from agents.console.common import admin_only, forbidden, page, paginate
from agents.console.forms import CustomFieldForm
from agents.http import ConsoleRequest
from agents.queries import custom_field_queryset
from agents.refusals import RuleViolation


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def custom_fields(request: ConsoleRequest) -> HttpResponse:
    admin_orgs = access.admin_organizations(request.user)
    form = None
    if admin_orgs.exists():
        boards = access.visible_boards(request.user).filter(organization__in=admin_orgs).order_by("name")
        form = CustomFieldForm(request.POST or None, organizations=admin_orgs, boards=boards)
    status = 200
    if request.method == "POST":
        if form is None:
            return forbidden(request, "Only an owner or admin of an organization may create a custom field.",
                             "custom_fields")
        if form.is_valid():
            try:
                definition = rules.create_custom_field(request.user, form.cleaned_data["organization"],
                                                       form.definition_data())
            except RuleViolation as exc:
                form.add_refusal(exc)
            else:
                messages.success(request, f"Custom field “{definition.label}” created.")
                return redirect("console:custom_fields")
        status = 422
    listing = custom_field_queryset(access.visible_custom_fields(request.user).select_related("organization")
                                    ).order_by("label", "id")
    admin_org_ids = set(admin_orgs.values_list("pk", flat=True))
    return page(request, "agents/custom_fields.html", "custom_fields", {
        "page_obj": paginate(request, listing), "form": form, "admin_org_ids": admin_org_ids}, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def custom_field_edit(request: ConsoleRequest, field_id: Any) -> HttpResponse:
    definition = access.get_custom_field_for(request.user, field_id)
    if not access.is_admin(request.user, definition.organization_id):
        return forbidden(request, admin_only("change a custom field"), "custom_fields")
    boards = access.visible_boards(request.user).filter(organization_id=definition.organization_id).order_by("name")
    form = CustomFieldForm(request.POST or None, organizations=access.admin_organizations(request.user),
                           boards=boards, definition=definition)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rules.update_custom_field(request.user, definition, form.definition_data())
            except RuleViolation as exc:
                form.add_refusal(exc)
            else:
                messages.success(request, f"Custom field “{definition.label}” saved.")
                return redirect("console:custom_fields")
        status = 422
    return page(request, "agents/custom_field_form.html", "custom_fields",
                {"form": form, "definition": definition}, status=status)


@login_required
@require_POST
def custom_field_delete(request: ConsoleRequest, field_id: Any) -> HttpResponse:
    definition = access.get_custom_field_for(request.user, field_id)
    if not access.is_admin(request.user, definition.organization_id):
        return forbidden(request, admin_only("delete a custom field"), "custom_fields")
    label = definition.label
    rules.delete_custom_field(request.user, definition)
    messages.success(request, f"Custom field “{label}” deleted; tasks no longer carry its values.")
    return redirect("console:custom_fields")
