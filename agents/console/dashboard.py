"""What the dashboard shows, computed with a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.apps import apps
from django.db.models import Count, Max, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from agents import access
from agents.models import PRESENCE_ONLINE_WINDOW, ActivityEvent, Agent, Approval, Board, Task

RANGES = {"24h": ("Last 24 hours", timedelta(hours=24)), "7d": ("Last 7 days", timedelta(days=7)),
          "30d": ("Last 30 days", timedelta(days=30))}


def _scope(user: Any, params: QueryDict) -> tuple[QuerySet[Board], Board | None]:
    boards = access.visible_boards(user)
    board = None
    board_id = params.get("board_id")
    if board_id:
        board = boards.filter(pk=board_id).first() if _is_uuid(board_id) else None
        if board is not None:
            boards = boards.filter(pk=board.pk)
    return boards, board


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def context_for(user: Any, params: QueryDict) -> dict[str, Any]:
    range_key = params.get("range_key") if params.get("range_key") in RANGES else "24h"
    range_label, span = RANGES[range_key]
    now = timezone.now()
    since = now - span
    boards, board = _scope(user, params)
    org_ids = list(access.organizations(user).values_list("pk", flat=True))

    by_status = dict(Task.objects.filter(board__in=boards).values_list("status").annotate(n=Count("id")).order_by())
    done_in_range = Task.objects.filter(board__in=boards, status=Task.Status.DONE, updated_at__gte=since).count()
    agents = Agent.objects.filter(organization_id__in=org_ids)
    if board is not None:
        agents = agents.filter(board=board)
    presence = agents.aggregate(
        total=Count("id"),
        online=Count("id", filter=Q(last_seen_at__gte=now - PRESENCE_ONLINE_WINDOW)),
        provisioning=Count("id", filter=Q(last_seen_at__isnull=True)),
    )
    pending = (Approval.objects.filter(board__in=boards, status=Approval.Status.PENDING)
               .select_related("board", "agent").order_by("-created_at"))
    pending_list = list(pending[:5])
    pending_count = pending.count()

    delivery_model = apps.get_model("webhooks", "WebhookDelivery")
    troubled = delivery_model.objects.filter(payload__board__in=boards, status__in=["failed", "dead"])
    troubled_count = troubled.count()

    events = ActivityEvent.objects.filter(organization_id__in=org_ids)
    if board is not None:
        events = events.filter(board_id=board.pk)
    recent = list(events.order_by("-created_at")[:12])

    statuses = [{"value": value, "label": label, "count": by_status.get(value, 0)}
                for value, label in Task.Status.choices]
    return {
        "range_key": range_key, "range_label": range_label, "ranges": [(k, v[0]) for k, v in RANGES.items()],
        "board": board, "board_choices": list(access.visible_boards(user).only("id", "name").order_by("name")),
        "statuses": statuses, "task_total": sum(by_status.values()), "done_in_range": done_in_range,
        "agents_total": presence["total"], "agents_online": presence["online"],
        "agents_provisioning": presence["provisioning"],
        "agents_offline": presence["total"] - presence["online"] - presence["provisioning"],
        "pending_count": pending_count, "pending_list": pending_list,
        "troubled_deliveries": troubled_count, "recent": recent,
        "has_boards": bool(by_status) or boards.exists(),
    }


def fingerprint(user: Any) -> tuple[Any, ...]:
    """Cheap values that change whenever the dashboard would: every change writes an event,
    and presence moves with ``last_seen_at``."""
    org_ids = list(access.organizations(user).values_list("pk", flat=True))
    last_event = ActivityEvent.objects.filter(organization_id__in=org_ids).aggregate(last=Max("created_at"))["last"]
    agents = Agent.objects.filter(organization_id__in=org_ids).aggregate(last=Max("last_seen_at"), n=Count("id"))
    # Presence also changes by the clock alone: an agent goes offline without any write.
    minute = int(timezone.now().timestamp() // 60)
    return (tuple(sorted(map(str, org_ids))), last_event, agents["last"], agents["n"], minute)
