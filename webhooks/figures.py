"""The webhook deliveries figures of the dashboard (registered with ``agents.metrics``)."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Count, Q, QuerySet

from agents.metrics import DayDeliveries, DeliveryFigures, per_day
from agents.models import Board
from webhooks.models import WebhookDelivery

FAILED_STATUSES = (WebhookDelivery.Status.FAILED, WebhookDelivery.Status.DEAD)


def _deliveries(boards: QuerySet[Board]) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(payload__board_id__in=boards.values("pk"))


def delivery_figures(boards: QuerySet[Board], start: datetime) -> DeliveryFigures:
    deliveries = _deliveries(boards).filter(created_at__gte=start)
    totals = deliveries.aggregate(total=Count("id"), failed=Count("id", filter=Q(status__in=FAILED_STATUSES)))
    total, failed = totals["total"], totals["failed"]
    return DeliveryFigures(total=total, failed=failed, failed_share=(failed / total) if total else None)


def delivery_trend(boards: QuerySet[Board], start: datetime, end: datetime) -> dict[date, DayDeliveries]:
    """Deliveries created per UTC day, by where they stand now: delivered, or failed (retrying
    or dead); the rest are still pending or waiting for a target."""
    days = per_day(_deliveries(boards).filter(created_at__gte=start, created_at__lt=end),
                   "created_at", total=Count("id"),
                   delivered=Count("id", filter=Q(status=WebhookDelivery.Status.DELIVERED)),
                   failed=Count("id", filter=Q(status__in=FAILED_STATUSES)))
    return {day: DayDeliveries(row["total"], row["delivered"], row["failed"]) for day, row in days.items()}
