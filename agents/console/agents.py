"""Agents in the console: presence at a glance, an agent's page (its lifecycle on the gateway,
its sessions and recent chat, the messages Mission Control pushed to it), creating, changing
and deleting an agent, retrying its provisioning, rotating its token, sending a message that
was given up on again. Every change goes through ``agents.rules.roster``, as the API's do.

A token is shown exactly once, in the answer to the POST that minted it; the page is
never cached and a reload does not show it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Q, Sum
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from agents import access, live, rules
from agents.console import workspace
from agents.console.common import (
    admin_only,
    etag_for,
    forbidden,
    live_fragment,
    organization_scopes,
    page,
    paginate,
    stamped_fragment,
    stamped_live,
)
from agents.console.forms import AgentCreateForm, AgentEditForm
from agents.gateway import tasks
from agents.http import ConsoleRequest
from agents.models import PRESENCE_ONLINE_WINDOW, Agent, AgentMessage
from agents.refusals import RuleViolation
from missioncontrol.lookups import parse_uuid


def _form(request: ConsoleRequest, data: Any = None) -> AgentCreateForm:
    admin_orgs = access.admin_organizations(request.user)
    return AgentCreateForm(data, boards=access.visible_boards(request.user).filter(organization__in=admin_orgs)
                           .order_by("name"),
                           gateways=access.visible_gateways(request.user).filter(organization__in=admin_orgs)
                           .order_by("name"))


def _list_context(request: ConsoleRequest) -> dict[str, Any]:
    agents = (workspace.narrow(request, access.visible_agents(request.user)).select_related("board", "gateway")
              .order_by("name"))
    board_id = parse_uuid(request.GET.get("board_id"))
    if board_id:
        agents = agents.filter(board_id=board_id)
    presence = request.GET.get("presence", "")
    admin_org_ids = set(access.admin_organizations(request.user).values_list("pk", flat=True))
    online_since = timezone.now() - PRESENCE_ONLINE_WINDOW
    if presence == "online":
        agents = agents.filter(last_seen_at__gte=online_since)
    elif presence == "offline":
        agents = agents.filter(last_seen_at__lt=online_since)
    elif presence == "provisioning":
        agents = agents.filter(last_seen_at__isnull=True)
    else:
        presence = ""
    return {"page_obj": paginate(request, agents), "presence": presence,
            "presence_choices": [("online", "Online"), ("offline", "Offline"),
                                 ("provisioning", "Never connected")],
            "board_choices": list(workspace.narrow(request, access.visible_boards(request.user))
                                  .only("id", "name").order_by("name")),
            "board_id": str(board_id or ""),
            # Rotating is per agent: an admin of one organization may be a member of another.
            "admin_org_ids": admin_org_ids, "can_manage": bool(admin_org_ids)}


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def agents(request: ConsoleRequest) -> HttpResponse:
    if request.method == "POST":
        return _create(request)
    context = _list_context(request)
    context["form"] = _form(request) if context["can_manage"] else None
    context.update(stamped_live(request, "agents", organization_scopes(request), _presence_minute()))
    return page(request, "agents/agents.html", "agents", context)


@login_required
def agents_live(request: ConsoleRequest) -> HttpResponse:
    """The agents table as it changes: events of their organizations, and presence, which also
    moves with the clock (an agent silent for ten minutes turns offline by itself)."""
    return stamped_fragment(request, "agents", organization_scopes(request),
                            lambda: render(request, "agents/agents.html#agents_table", _list_context(request)),
                            _presence_minute())


def _presence_minute() -> int:
    return int(timezone.now().timestamp() // 60)


def _create(request: ConsoleRequest) -> HttpResponse:
    form = _form(request, request.POST)
    if not access.admin_organizations(request.user).exists():
        return forbidden(request, "Only an owner or admin of an organization may create agents.", "agents")
    if form.is_valid():
        try:
            data = form.cleaned_data
            agent, token = rules.add_agent(request.user, {
                "name": data["name"], "is_board_lead": data["is_board_lead"],
                "board_id": data["board"].pk if data["board"] else None,
                "gateway_id": data["gateway"].pk if data["gateway"] else None})
        except RuleViolation as exc:
            form.add_refusal(exc)
        else:
            return _token_page(request, agent, token, created=True)
    context = _list_context(request)
    context["form"] = form
    return page(request, "agents/agents.html", "agents", context, status=422)


def _token_page(request: ConsoleRequest, agent: Agent, token: str, *, created: bool) -> HttpResponse:
    response = page(request, "agents/agent_token.html", "agents", {
        "agent": agent, "token": token, "created": created, "base_url": settings.BASE_URL})
    add_never_cache_headers(response)
    return response


@login_required
@require_POST
def agent_rotate(request: ConsoleRequest, agent_id: Any) -> HttpResponse:
    agent = access.get_agent_for(request.user, agent_id)
    try:
        token = rules.rotate_token(request.user, agent, revoke_previous=request.POST.get("revoke_previous") == "on")
    except RuleViolation as exc:
        return forbidden(request, exc.message, "agents", status=exc.status_code)
    return _token_page(request, agent, token, created=False)


MESSAGES_SHOWN = 20


def _agent_context(request: ConsoleRequest, agent: Agent) -> dict[str, Any]:
    report = agent.provision_report or {}
    sent = list(AgentMessage.objects.filter(agent=agent).order_by("-id")[:MESSAGES_SHOWN])
    return {"agent": agent, "report": report, "snapshot": agent.gateway_snapshot or {},
            "can_manage": access.is_admin(request.user, agent.organization_id), "agent_messages": sent}


def _messages_state(agent: Agent) -> tuple[Any, ...]:
    """Changes whenever a message is written or changes state (for the live page's ETag)."""
    state = AgentMessage.objects.filter(agent=agent).aggregate(
        newest=Max("id"), tries=Sum("attempts"), unsent=Count("id", filter=~Q(status=AgentMessage.Status.SENT)))
    return state["newest"], state["tries"], state["unsent"]


def _fingerprint(agent: Agent) -> str:
    return etag_for("agent", agent.pk, agent.updated_at, agent.lifecycle_status, agent.lifecycle_changed_at,
                    agent.last_seen_at, agent.gateway_snapshot_at, agent.provisioned_at, *_messages_state(agent))


@login_required
def agent_detail(request: ConsoleRequest, agent_id: Any) -> HttpResponse:
    agent = access.get_agent_for(request.user, agent_id)
    return page(request, "agents/agent_detail.html", "agents",
                {**_agent_context(request, agent), "etag": _fingerprint(agent),
                 "live_ticket": live.ticket(_scopes(agent))})


@login_required
def agent_live(request: ConsoleRequest, agent_id: Any) -> HttpResponse:
    agent = access.get_agent_for(request.user, agent_id)
    return live_fragment(request, _fingerprint(agent),
                         lambda: render(request, "agents/_agent_body.html", _agent_context(request, agent)),
                         _scopes(agent))


def _scopes(agent: Agent) -> list[str]:
    return live.scopes_of(board_id=agent.board_id, organization_id=agent.organization_id)


@login_required
@require_POST
def agent_provision(request: ConsoleRequest, agent_id: Any) -> HttpResponse:
    agent = access.get_agent_for(request.user, agent_id)

    def retry() -> str:
        rules.retry_provisioning(request.user, agent)
        return f"Provisioning {agent.name} again; this page follows it live."

    return _agent_action(request, agent, retry)


@login_required
@require_POST
def agent_refresh(request: ConsoleRequest, agent_id: Any) -> HttpResponse:
    """Asks the worker to read the agent's sessions and chat from its gateway."""
    agent = access.get_agent_for(request.user, agent_id)
    if agent.gateway_id is None:
        messages.error(request, "This agent has no gateway to read sessions from.")
    else:
        tasks.enqueue_snapshot(agent)
        messages.info(request, "Reading the agent's sessions and chat from its gateway.")
    return redirect("console:agent", agent_id=agent.pk)


@login_required
@require_POST
def agent_message_resend(request: ConsoleRequest, agent_id: Any, message_id: int) -> HttpResponse:
    """Sends a message that was given up on again, with the rest of its batch."""
    agent = access.get_agent_for(request.user, agent_id)

    def resend() -> str:
        count = rules.resend_message(request.user, agent, message_id)
        return f"{count} message{'' if count == 1 else 's'} queued again for {agent.name}."

    return _agent_action(request, agent, resend)


def _agent_action(request: ConsoleRequest, agent: Agent, act: Callable[[], str]) -> HttpResponse:
    """A button of the agent page: runs ``act`` (a rule) and comes back to the page with the
    sentence it returns, or with the rule's refusal; a refusal for want of rights is the
    console's 403 page, as the API answers 403."""
    try:
        done = act()
    except RuleViolation as exc:
        if exc.status_code == 403:
            return forbidden(request, exc.message, "agents")
        messages.error(request, exc.message)
    else:
        messages.info(request, done)
    return redirect("console:agent", agent_id=agent.pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def agent_edit(request: ConsoleRequest, agent_id: Any) -> HttpResponse:
    agent = access.get_agent_for(request.user, agent_id)
    if not access.is_admin(request.user, agent.organization_id):
        return forbidden(request, admin_only("change an agent"), "agents")
    gateways = access.visible_gateways(request.user).filter(organization_id=agent.organization_id).order_by("name")
    form = AgentEditForm(request.POST or None, agent=agent, gateways=gateways)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            changes = form.changes()
            if not changes:
                messages.info(request, "Nothing changed.")
                return redirect("console:agent", agent_id=agent.pk)
            try:
                rules.update_agent(request.user, agent, changes)
            except RuleViolation as exc:
                form.add_refusal(exc)
            else:
                messages.success(request, f"Agent {agent.name} saved." + (
                    " Its gateway sets it up again with the change." if agent.gateway_id else ""))
                return redirect("console:agent", agent_id=agent.pk)
        # The page shows the agent as it is, beside the form as it was sent.
        agent.refresh_from_db()
        status = 422
    return page(request, "agents/agent_form.html", "agents", {"form": form, "agent": agent}, status=status)


@login_required
@require_POST
def agent_delete(request: ConsoleRequest, agent_id: Any) -> HttpResponse:
    agent = access.get_agent_for(request.user, agent_id)
    if not access.is_admin(request.user, agent.organization_id):
        return forbidden(request, admin_only("delete an agent"), "agents")
    if request.POST.get("confirm_name", "").strip() != agent.name:
        messages.error(request, "Type the agent's name exactly to delete it.")
        return redirect("console:agent", agent_id=agent.pk)
    name = agent.name
    try:
        rules.delete_agent(request.user, agent)
    except RuleViolation as exc:
        return forbidden(request, exc.message, "agents", status=exc.status_code)
    messages.success(request, f"Agent {name} deleted. Its tasks are unassigned; its history stays in the activity "
                              "timeline." + (" Its gateway removes it there too." if agent.gateway_id else ""))
    return redirect("console:agents")
