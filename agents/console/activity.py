"""The activity timeline, filtered by board, kind of event and actor."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from agents import access
from agents.console import workspace
from agents.console.common import (
    organization_scopes,
    page,
    paginate,
    stamped_fragment,
    stamped_live,
)
from agents.console.events import describe_events
from agents.http import ConsoleRequest
from agents.models import ActivityEvent, User
from missioncontrol.lookups import parse_uuid

EVENT_FAMILIES = [("task.", "Tasks"), ("approval.", "Approvals"), ("agent.", "Agents"), ("webhook.", "Webhooks"),
                  ("board.", "Boards"), ("board_group.", "Board groups"), ("gateway.", "Gateways"), ("memory.", "Board memory"),
                  ("ops.", "Operations")]


@login_required
def activity_timeline(request: ConsoleRequest) -> HttpResponse:
    context = _timeline_context(request)
    context.update(stamped_live(request, "activity", organization_scopes(request)))
    return page(request, "agents/activity.html", "activity", context)


@login_required
def activity_live(request: ConsoleRequest) -> HttpResponse:
    """The timeline's live fragment: a new event in the organizations it shows moves it on."""
    return stamped_fragment(request, "activity", organization_scopes(request),
                            lambda: render(request, "agents/activity.html#activity_timeline",
                                           _timeline_context(request)))


def _timeline_context(request: ConsoleRequest) -> dict[str, Any]:
    org_ids = workspace.organization_ids(request)
    events = access.visible_activity(request.user).filter(organization_id__in=org_ids)
    boards = list(workspace.narrow(request, access.visible_boards(request.user)).only("id", "name").order_by("name"))
    agents = list(workspace.narrow(request, access.visible_agents(request.user)).only("id", "name").order_by("name"))
    people = list(User.objects.filter(memberships__organization_id__in=org_ids).distinct()
                  .only("id", "username", "first_name", "last_name").order_by("username"))

    board_id = parse_uuid(request.GET.get("board_id"))
    if board_id:
        events = events.filter(board_id=board_id)
    family = request.GET.get("type", "")
    if family in dict(EVENT_FAMILIES):
        events = events.filter(event_type__startswith=family)
    elif family:
        events = events.filter(event_type=family)
    actor = request.GET.get("actor", "")
    kind, _, actor_id = actor.partition(":")
    if kind == "system":
        events = events.filter(actor_type=ActivityEvent.ActorType.SYSTEM)
    elif kind == "agent" and parse_uuid(actor_id):
        events = events.filter(actor_agent_id=parse_uuid(actor_id))
    elif kind == "user" and parse_uuid(actor_id):
        events = events.filter(actor_user_id=parse_uuid(actor_id))

    page_obj = paginate(request, events.order_by("-created_at"))
    context: dict[str, Any] = {
        "page_obj": page_obj, "lines": describe_events(page_obj.object_list, request.user),
        "boards": boards, "families": EVENT_FAMILIES,
        "actor_groups": [
            ("People", [(f"user:{u.pk}", u.get_full_name() or u.username) for u in people]),
            ("Agents", [(f"agent:{a.pk}", a.name) for a in agents]),
        ],
        "board_id": str(board_id or ""), "type": family, "actor": actor,
        "filtered": bool(board_id or family or actor),
    }
    return context
