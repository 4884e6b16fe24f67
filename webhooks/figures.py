"""The webhook deliveries figures of the dashboard (registered with ``agents.metrics``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db.models import Count, Q

from agents.metrics import DeliveryFigures
from webhooks.models import WebhookDelivery

FAILED_STATUSES = (WebhookDelivery.Status.FAILED, WebhookDelivery.Status.DEAD)


def delivery_figures(organization_ids: Any, board_id: uuid.UUID | None, start: datetime) -> DeliveryFigures:
    deliveries = WebhookDelivery.objects.filter(payload__board__organization_id__in=organization_ids,
                                                created_at__gte=start)
    if board_id is not None:
        deliveries = deliveries.filter(payload__board_id=board_id)
    totals = deliveries.aggregate(total=Count("id"), failed=Count("id", filter=Q(status__in=FAILED_STATUSES)))
    total, failed = totals["total"], totals["failed"]
    return DeliveryFigures(total=total, failed=failed, failed_share=(failed / total) if total else None)
