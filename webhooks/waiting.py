"""Deliveries waiting for a target, and how they start.

A delivery waits when its webhook has nobody to deliver to: the webhook names no agent and
the board has no lead. While it waits it costs nothing: no job, no retry, no attempt. The
change that gives the webhook a target (a lead appointed through ``agents.rules.roster``,
an agent set on the webhook through ``webhooks.services``) queues one
:func:`webhooks.tasks.start_waiting_deliveries` job in its own transaction; the job hands
the waiting deliveries of the board, oldest first, to the normal attempt path.

An ingest and a change of target may run at the same time, each unaware of the other's
uncommitted row. Both take the board's row lock before they look: the change exclusively
(``FOR UPDATE``), an ingest or replay that found no target shared (``FOR SHARE``, so
ingests do not wait for each other). Whichever comes second sees what the first committed:
the change sees the waiting delivery, or the ingest sees the new target. SQLite runs one
write transaction at a time (``transaction_mode`` IMMEDIATE), which gives the same order.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from agents.models import Agent, Board
from webhooks.delivery import has_target
from webhooks.models import Webhook, WebhookDelivery

# Deliveries started per transaction: a board that waited long may have many thousands.
START_BATCH = 500


def lock_board(board_id: Any) -> None:
    """Take the board's row lock for a change of target; inside that change's transaction."""
    list(Board.objects.select_for_update().filter(pk=board_id).values_list("pk", flat=True))


def has_target_now(webhook: Webhook) -> bool:
    """Whether the webhook has a target, once any change of target in progress on its board
    has committed. Inside the transaction that stores or replays the delivery."""
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {quote(Board._meta.db_table)} WHERE {quote('id')} = %s FOR SHARE",
                           [Board._meta.pk.get_db_prep_value(webhook.board_id, connection)])
    return has_target(webhook)


def target_appointed(board: Board) -> None:
    """A listener of ``agents.rules.listeners``: the board got a lead, or one of its webhooks an
    agent. Called inside that change's transaction, with the board locked; queues the start of
    the board's waiting deliveries when there are any."""
    from webhooks.tasks import start_waiting_deliveries

    if WebhookDelivery.objects.filter(status=WebhookDelivery.Status.WAITING, payload__board_id=board.pk).exists():
        start_waiting_deliveries.enqueue(str(board.pk))


def _webhooks_with_target(board_id: Any) -> list[Any]:
    webhooks = Webhook.objects.filter(board_id=board_id)
    if not Agent.objects.filter(board_id=board_id, is_board_lead=True).exists():
        webhooks = webhooks.filter(agent__board_id=board_id)
    return list(webhooks.values_list("pk", flat=True))


def start_waiting(board_id: Any) -> int:
    """Queue the first attempt of every waiting delivery of the board whose webhook has a
    target now, oldest first, in batches. Returns how many were started."""
    from webhooks.tasks import enqueue_delivery

    webhook_ids = _webhooks_with_target(board_id)
    started = 0
    while webhook_ids:
        with transaction.atomic():
            # Row locks: a second start running at the same time waits, then finds them started.
            batch = list(WebhookDelivery.objects.select_for_update(of=("self",))
                         .filter(status=WebhookDelivery.Status.WAITING, payload__webhook_id__in=webhook_ids)
                         .order_by("created_at", "id").only("pk", "cycle", "attempts")[:START_BATCH])
            if not batch:
                break
            now = timezone.now()
            WebhookDelivery.objects.filter(pk__in=[delivery.pk for delivery in batch]).update(
                status=WebhookDelivery.Status.PENDING, next_attempt_at=now, updated_at=now)
            for delivery in batch:
                enqueue_delivery(delivery)
        started += len(batch)
        if len(batch) < START_BATCH:
            break
    return started
