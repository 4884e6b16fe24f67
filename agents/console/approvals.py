"""The approvals queue: each request beside its tasks and the agent's reasoning, decided in one click."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Prefetch, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from agents import access, live, rules
from agents.console import workspace
from agents.console.common import (
    etag_for,
    live_fragment,
    organization_scopes,
    page,
    paginate,
    refusal_text,
)
from agents.http import ConsoleRequest
from agents.models import Approval, Task
from agents.refusals import RuleViolation
from missioncontrol.lookups import get_or_404, parse_uuid

FILTERS = [("pending", "Waiting"), ("approved", "Approved"), ("rejected", "Rejected"), ("all", "All")]


def _queryset(request: ConsoleRequest) -> tuple[QuerySet[Approval], str, Any]:
    status = request.GET.get("status") or "pending"
    if status not in dict(FILTERS):
        status = "pending"
    boards = workspace.narrow(request, access.visible_boards(request.user))
    board_id = parse_uuid(request.GET.get("board_id"))
    queryset = Approval.objects.filter(board__in=boards)
    if board_id:
        queryset = queryset.filter(board_id=board_id)
    if status != "all":
        queryset = queryset.filter(status=status)
    queryset = (queryset.select_related("board", "agent", "resolved_by", "requested_by_user")
                .prefetch_related(Prefetch("tasks", queryset=Task.objects.select_related("assigned_agent")
                                           .only("id", "title", "status", "priority", "board_id", "description",
                                                 "assigned_agent__name")))
                .order_by("-created_at"))
    return queryset, status, board_id


def _fingerprint(request: ConsoleRequest) -> str:
    boards = workspace.narrow(request, access.visible_boards(request.user))
    numbers = Approval.objects.filter(board__in=boards).aggregate(n=Count("id"), created=Max("created_at"),
                                                                   resolved=Max("resolved_at"))
    return etag_for("approvals", request.GET.urlencode(), numbers["n"], numbers["created"], numbers["resolved"])


def _context(request: ConsoleRequest) -> dict[str, Any]:
    queryset, status, board_id = _queryset(request)
    # Decisions return to the queue as filtered, also when the form came from a live refresh.
    back = reverse("console:approvals") + "?" + request.GET.urlencode()
    page_obj = paginate(request, queryset, per_page=25)
    return {"page_obj": page_obj, "status": status, "filters": FILTERS,
            "board_id": str(board_id or ""), "back": back}


@login_required
def approvals(request: ConsoleRequest) -> HttpResponse:
    context = _context(request)
    context["board_choices"] = list(workspace.narrow(request, access.visible_boards(request.user))
                                    .only("id", "name").order_by("name"))
    context["etag"] = _fingerprint(request)
    context["live_ticket"] = live.ticket(organization_scopes(request))
    return page(request, "agents/approvals.html", "approvals", context)


@login_required
def approvals_live(request: ConsoleRequest) -> HttpResponse:
    return live_fragment(request, _fingerprint(request),
                         lambda: render(request, "agents/_approvals_list.html", _context(request)),
                         organization_scopes(request))


@login_required
@require_POST
def approval_resolve(request: ConsoleRequest, approval_id: Any) -> HttpResponse:
    approval = get_or_404(Approval.objects.select_related("board").filter(board__in=access.visible_boards(request.user)),
                          approval_id)
    decision = request.POST.get("status", "")
    back = request.POST.get("back", "")
    if not (back.startswith("/") and not back.startswith("//")):
        back = "/approvals/"
    try:
        rules.resolve_approval(request.user, approval, decision)
    except RuleViolation as exc:
        messages.error(request, refusal_text(exc))
        return redirect(back)
    verb = "Approved" if decision == Approval.Status.APPROVED else "Rejected"
    messages.success(request, f"{verb}: {approval.action_type.replace('_', ' ')} on {approval.board.name}.")
    return redirect(back)
