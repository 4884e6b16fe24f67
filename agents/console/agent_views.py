"""Agents in the console: presence at a glance, creating an agent and rotating its token.

A token is shown exactly once, in the answer to the POST that minted it; the page is
never cached and a reload does not show it again.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from agents import access, activity
from agents.console.common import page, paginate, parse_uuid
from agents.console.forms import AgentCreateForm
from agents.models import Agent
from agents.refusals import RuleViolation
from agents.tokens import mint_token


def _form(request: HttpRequest, data: Any = None) -> AgentCreateForm:
    admin_orgs = access.admin_organizations(request.user)
    return AgentCreateForm(data, boards=access.visible_boards(request.user).filter(organization__in=admin_orgs)
                           .order_by("name"),
                           gateways=access.visible_gateways(request.user).filter(organization__in=admin_orgs)
                           .order_by("name"))


def _list_context(request: HttpRequest) -> dict[str, Any]:
    agents = access.visible_agents(request.user).select_related("board", "gateway").order_by("name")
    board_id = parse_uuid(request.GET.get("board_id"))
    if board_id:
        agents = agents.filter(board_id=board_id)
    return {"page_obj": paginate(request, agents),
            "board_choices": list(access.visible_boards(request.user).only("id", "name").order_by("name")),
            "board_id": str(board_id or ""),
            "can_manage": access.admin_organizations(request.user).exists()}


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def agents(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _create(request)
    context = _list_context(request)
    context["form"] = _form(request) if context["can_manage"] else None
    return page(request, "agents/agents.html", "agents", context)


def _create(request: HttpRequest) -> HttpResponse:
    form = _form(request, request.POST)
    if not access.admin_organizations(request.user).exists():
        return page(request, "console/forbidden.html", "agents",
                    {"reason": "Only an owner or admin of an organization may create agents."}, status=403)
    if form.is_valid():
        try:
            agent, token = _create_agent(request.user, form.cleaned_data)
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            return _token_page(request, agent, token, created=True)
    context = _list_context(request)
    context["form"] = form
    return page(request, "agents/agents.html", "agents", context, status=422)


def _create_agent(user: Any, data: dict[str, Any]) -> tuple[Agent, str]:
    board, gateway = data.get("board"), data.get("gateway")
    organization_id = board.organization_id if board is not None else gateway.organization_id
    with transaction.atomic():
        if board is not None:
            count = Agent.objects.filter(board=board).count()
            if count >= board.max_agents:
                raise RuleViolation(409, "board_full", f"The board already has {count} agents, its maximum "
                                                       f"of {board.max_agents}.")
        agent = Agent(name=data["name"].strip(), board=board, organization_id=organization_id,
                      gateway=gateway or (board.gateway if board is not None else None),
                      is_board_lead=bool(data.get("is_board_lead")))
        try:
            with transaction.atomic():
                token = mint_token(agent)
        except IntegrityError as exc:
            raise RuleViolation(409, "agent_conflict",
                                "The board already has an agent of that name or a lead, or the gateway already "
                                "has a main agent.") from exc
        activity.record("agent.created", actor=user, board=board, agent=agent,
                        message=f"Agent {agent.name} created",
                        data={"name": agent.name, "is_board_lead": agent.is_board_lead})
    return agent, token


def _token_page(request: HttpRequest, agent: Agent, token: str, *, created: bool) -> HttpResponse:
    response = page(request, "agents/agent_token.html", "agents", {
        "agent": agent, "token": token, "created": created, "base_url": settings.BASE_URL})
    add_never_cache_headers(response)
    return response


@login_required
@require_POST
def agent_rotate(request: HttpRequest, agent_id: Any) -> HttpResponse:
    agent = access.get_agent_for(request.user, agent_id)
    if not access.is_admin(request.user, agent.organization_id):
        return page(request, "console/forbidden.html", "agents",
                    {"reason": "Only an owner or admin of the organization may rotate an agent's token."},
                    status=403)
    with transaction.atomic():
        token = mint_token(agent)
        activity.record("agent.token_rotated", actor=request.user, board=agent.board_id, agent=agent,
                        organization=agent.organization_id, message=f"Token of {agent.name} rotated")
    return _token_page(request, agent, token, created=False)
