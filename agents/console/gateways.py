"""Gateways in the console: the OpenClaw runtimes that host agents. Their tokens go in, never out.

Registration, changes, checks and syncs go through ``agents.rules.gateways``, as the
API's do; the check and the sync run in the worker, and the gateway's page follows them live.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from agents import access, live, rules
from agents.console.common import admin_only, etag_for, forbidden, live_fragment, page, paginate
from agents.console.forms import GatewayForm
from agents.gateway.device import device_id
from agents.http import ConsoleRequest
from agents.models import Agent, Gateway, GatewayCleanup
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
    # Counted as the person sees them: a member limited to some boards counts only theirs.
    listing = (access.visible_gateways(request.user).select_related("organization")
               .annotate(board_count=Count("boards", distinct=True,
                                           filter=Q(boards__in=access.visible_boards(request.user))),
                         agent_count=Count("agents", distinct=True,
                                           filter=Q(agents__in=access.visible_agents(request.user))))
               .order_by("name"))
    return page(request, "agents/gateways.html", "gateways",
                {"page_obj": paginate(request, listing), "form": form}, status=status)


def _gateway(request: ConsoleRequest, gateway_id: Any) -> Gateway:
    return access.get_gateway_for(request.user, gateway_id)


def _body_context(request: ConsoleRequest, gateway: Gateway) -> dict[str, Any]:
    # A member limited to some boards sees the agents of those boards only (``visible_agents``).
    agents = list(access.visible_agents(request.user).filter(gateway=gateway).select_related("board")
                  .order_by("board__name", "-is_board_lead", "name"))
    return {"gateway": gateway, "agents": agents, "report": gateway.check_report or {},
            "sync": gateway.sync_report or {},
            "cleanups": list(GatewayCleanup.objects.filter(gateway=gateway).exclude(
                status=GatewayCleanup.Status.DONE).order_by("-created_at")[:20])}


def _fingerprint(gateway: Gateway) -> str:
    agents = Agent.objects.filter(gateway=gateway).aggregate(n=Count("id"), last=Max("updated_at"))
    cleanups = GatewayCleanup.objects.filter(gateway=gateway).aggregate(n=Count("id"), last=Max("next_attempt_at"))
    return etag_for("gateway", gateway.pk, gateway.updated_at, gateway.checked_at, gateway.check_status,
                    gateway.synced_at, agents["n"], agents["last"], cleanups["n"], cleanups["last"])


@login_required
def gateway_detail(request: ConsoleRequest, gateway_id: Any) -> HttpResponse:
    gateway = _gateway(request, gateway_id)
    return page(request, "agents/gateway_detail.html", "gateways", {
        **_body_context(request, gateway), "etag": _fingerprint(gateway), "device_id": device_id(),
        "live_ticket": live.ticket([live.organization_scope(gateway.organization_id)]),
        "can_manage": access.is_admin(request.user, gateway.organization_id)})


@login_required
def gateway_live(request: ConsoleRequest, gateway_id: Any) -> HttpResponse:
    gateway = _gateway(request, gateway_id)
    return live_fragment(request, _fingerprint(gateway),
                         lambda: render(request, "agents/_gateway_body.html", {
                             **_body_context(request, gateway),
                             "can_manage": access.is_admin(request.user, gateway.organization_id)}),
                         [live.organization_scope(gateway.organization_id)])


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def gateway_edit(request: ConsoleRequest, gateway_id: Any) -> HttpResponse:
    gateway = _gateway(request, gateway_id)
    if not access.is_admin(request.user, gateway.organization_id):
        return forbidden(request, admin_only("change a gateway"), "gateways")
    form = GatewayForm(request.POST or None, organizations=access.admin_organizations(request.user), gateway=gateway)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rules.update_gateway(request.user, gateway, form.gateway_data(keep_token=True))
            except RuleViolation as exc:
                form.add_refusal(exc)
            else:
                messages.success(request, f"Gateway “{gateway.name}” saved.")
                return redirect("console:gateway", gateway_id=gateway.pk)
        status = 422
    return page(request, "agents/gateway_form.html", "gateways", {"form": form, "gateway": gateway}, status=status)


@login_required
@require_POST
def gateway_delete(request: ConsoleRequest, gateway_id: Any) -> HttpResponse:
    gateway = _gateway(request, gateway_id)
    if not access.is_admin(request.user, gateway.organization_id):
        return forbidden(request, admin_only("remove a gateway"), "gateways")
    if request.POST.get("confirm_name", "").strip() != gateway.name:
        messages.error(request, "Type the gateway's name exactly to remove it.")
        return redirect("console:gateway", gateway_id=gateway.pk)
    name = gateway.name
    rules.delete_gateway(request.user, gateway)
    messages.success(request, f"Gateway “{name}” removed. Its agents stay on their boards, without a gateway.")
    return redirect("console:gateways")


@login_required
@require_POST
def gateway_check(request: ConsoleRequest, gateway_id: Any) -> HttpResponse:
    gateway = _gateway(request, gateway_id)
    try:
        rules.request_check(request.user, gateway)
    except RuleViolation as exc:
        return forbidden(request, exc.message, "gateways", status=exc.status_code)
    messages.info(request, "Checking the gateway; this page shows each stage as soon as the worker has run it.")
    return redirect("console:gateway", gateway_id=gateway.pk)


@login_required
@require_POST
def gateway_sync(request: ConsoleRequest, gateway_id: Any) -> HttpResponse:
    gateway = _gateway(request, gateway_id)
    try:
        rules.request_sync(request.user, gateway)
    except RuleViolation as exc:
        return forbidden(request, exc.message, "gateways", status=exc.status_code)
    messages.info(request, "Syncing every agent's config and workspace files; the result shows here when done.")
    return redirect("console:gateway", gateway_id=gateway.pk)
