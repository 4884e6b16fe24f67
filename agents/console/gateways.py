"""Gateways in the console: the OpenClaw runtimes that host agents. Their tokens go in, never out.

Registration goes through ``agents.rules.gateways``, as the API's does.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from agents import access, rules
from agents.console.common import forbidden, page, paginate
from agents.console.forms import GatewayForm
from agents.http import ConsoleRequest
from agents.refusals import RuleViolation


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def gateways(request: ConsoleRequest) -> HttpResponse:
    admin_orgs = access.admin_organizations(request.user)
    form = GatewayForm(request.POST or None, organizations=admin_orgs) if admin_orgs.exists() else None
    status = 200
    if request.method == "POST":
        if form is None:
            return forbidden(request, "Only an owner or admin of an organization may register a gateway.", "gateways")
        if form.is_valid():
            try:
                gateway = rules.create_gateway(request.user, form.cleaned_data["organization"], form.gateway_data())
            except RuleViolation as exc:
                form.add_refusal(exc)
            else:
                messages.success(request,
                                 f"Gateway “{gateway.name}” registered. Boards and main agents can use it now.")
                return redirect("console:gateways")
        status = 422
    listing = (access.visible_gateways(request.user).select_related("organization")
               .annotate(board_count=Count("boards", distinct=True), agent_count=Count("agents", distinct=True))
               .order_by("name"))
    return page(request, "agents/gateways.html", "gateways",
                {"page_obj": paginate(request, listing), "form": form}, status=status)
