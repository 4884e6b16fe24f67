"""The dashboard page (and its live fragment): figures computed with a fixed number of queries."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone

from agents import access, live, metrics
from agents.console import workspace
from agents.console.charts import duration, trend_charts
from agents.console.common import etag_for, live_fragment, organization_scopes, page
from agents.console.events import describe_events
from agents.http import ConsoleRequest
from agents.models import PRESENCE_ONLINE_WINDOW, Approval, Board, Task
from missioncontrol.lookups import parse_uuid

RANGE_LABELS = {"24h": "Last 24 hours", "7d": "Last 7 days", "14d": "Last 14 days", "30d": "Last 30 days",
                "90d": "Last 90 days"}


def _narrow[M: Any](request: HttpRequest | None, queryset: QuerySet[M]) -> QuerySet[M]:
    """``queryset`` within the organization the console works in, when asked for a request."""
    return workspace.narrow(request, queryset) if request is not None else queryset


def _scope(user: Any, params: QueryDict, request: HttpRequest | None) -> tuple[QuerySet[Board], Board | None]:
    boards = _narrow(request, access.visible_boards(user))
    board = None
    board_id = parse_uuid(params.get("board_id"))
    if board_id:
        board = boards.filter(pk=board_id).first()
        if board is not None:
            boards = boards.filter(pk=board.pk)
    return boards, board


def _figures_scope(user: Any, request: HttpRequest | None) -> metrics.Scope:
    """What the person may see, within the organization the console works in (``workspace``)."""
    scope = metrics.Scope.of_person(user)
    return metrics.Scope(boards=_narrow(request, scope.boards), agents=_narrow(request, scope.agents),
                         events=_narrow(request, scope.events))


def context_for(user: Any, params: QueryDict, request: HttpRequest | None = None) -> dict[str, Any]:
    """The dashboard of ``user``; given the ``request``, of the organization the console
    works in (``workspace``), else of all the person may see."""
    asked = params.get("range_key")
    range_key = asked if asked is not None and asked in metrics.RANGES else metrics.DEFAULT_RANGE
    range_note = ""
    if asked and asked not in metrics.RANGES:
        shown = asked if len(asked) <= 20 else asked[:20] + "…"
        range_note = (f"“{shown}” is not one of the ranges ({', '.join(RANGE_LABELS.values()).lower()}); "
                      f"showing the {RANGE_LABELS[range_key].lower()}.")
    boards, board = _scope(user, params, request)
    scope = _figures_scope(user, request)
    figures = metrics.dashboard(scope, board_id=board.pk if board else None, range_key=range_key)

    provisioning = scope.narrowed_to(board.pk if board else None).agents.filter(last_seen_at__isnull=True).count()
    pending_list = list(Approval.objects.filter(board__in=boards, status=Approval.Status.PENDING)
                        .select_related("board", "agent").order_by("-created_at")[:5])
    events = _narrow(request, access.visible_activity(user))
    if board is not None:
        events = events.filter(board_id=board.pk)
    recent = describe_events(events.order_by("-created_at")[:12], user)

    deliveries = figures.webhook_deliveries
    cycle = figures.median_cycle_time_seconds
    return {
        "range_key": range_key, "range_label": RANGE_LABELS[range_key], "range_note": range_note,
        "charts": trend_charts(figures.trends, agents_online=figures.agents_online, agents_total=figures.agents_total),
        "ranges": [(key, RANGE_LABELS[key]) for key in metrics.RANGES],
        "board": board, "board_choices": list(_narrow(request, access.visible_boards(user)).only("id", "name")
                                             .order_by("name")),
        "statuses": [{"value": value, "label": label, "count": figures.tasks_by_status.get(value, 0)}
                     for value, label in Task.Status.choices],
        "task_total": figures.tasks_total, "done_in_range": figures.tasks_done_in_range,
        "median_cycle": duration(cycle) if cycle is not None else None,
        "agents_total": figures.agents_total, "agents_online": figures.agents_online,
        "agents_provisioning": provisioning,
        "agents_offline": max(0, figures.agents_total - figures.agents_online - provisioning),
        "pending_count": figures.pending_approvals, "pending_list": pending_list,
        "troubled_deliveries": deliveries.failed if deliveries else 0,
        "deliveries_total": deliveries.total if deliveries else 0,
        "recent": recent,
        "has_boards": figures.tasks_total > 0 or bool(board) or boards.exists(),
    }


def fingerprint(request: ConsoleRequest) -> tuple[Any, ...]:
    """Cheap values that change whenever the dashboard would: every change writes an event,
    presence moves with ``last_seen_at`` (and with the clock: the online count), and the
    trends move on a day at UTC midnight."""
    # The organizations the lists show, from the layout's query (no query of their own).
    org_ids = workspace.organization_ids(request)
    scope = _figures_scope(request.user, request)
    # Every event they may read, organization-wide ones too: a change to their board access is one.
    last_event = workspace.narrow(request, access.visible_activity(request.user)).aggregate(
        last=Max("created_at"))["last"]
    online_since = timezone.now() - PRESENCE_ONLINE_WINDOW
    agents = scope.agents.aggregate(
        last=Max("last_seen_at"), n=Count("id"), online=Count("id", filter=Q(last_seen_at__gte=online_since)))
    return (tuple(sorted(map(str, org_ids))), last_event, agents["last"], agents["n"], agents["online"],
            timezone.now().date())


@login_required
def dashboard_page(request: ConsoleRequest) -> HttpResponse:
    context = context_for(request.user, request.GET, request)
    context["live_ticket"] = live.ticket(organization_scopes(request))
    return page(request, "agents/dashboard.html", "dashboard", context)


@login_required
def dashboard_live(request: ConsoleRequest) -> HttpResponse:
    params = request.GET
    etag = etag_for("dashboard", fingerprint(request))

    def render_fragment() -> HttpResponse:
        return render(request, "agents/_dashboard_body.html", context_for(request.user, params, request))

    return live_fragment(request, etag, render_fragment, organization_scopes(request))


