"""What the webhook views do, as plain functions: store a payload, change a webhook,
replay a payload, record the target agent's pickup. Each writes its activity event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from agents import activity, live
from agents.models import Agent, BoardMemory, User
from webhooks import refusals, waiting
from webhooks.delivery import OPEN_STATUSES, is_target, target_facts
from webhooks.models import Webhook, WebhookDelivery, WebhookPayload
from webhooks.notifiers import current_notifier, needs_push
from webhooks.payloads import memory_note, storable
from webhooks.rows import insert_rows
from webhooks.tasks import enqueue_delivery

MEMORY_SOURCE = "webhook"


@dataclass(frozen=True)
class IngestedRequest:
    """What the ingest view read from the request, already decoded."""

    payload: Any
    headers: dict[str, str]
    source_ip: str
    content_type: str
    # Set when the request may have been spooled (webhooks.spool): the stored row keeps the
    # id the 202 answered and the time the request arrived.
    payload_id: UUID | None = None
    received_at: datetime | None = None


def store_payload(webhook: Webhook, organization_id: Any, incoming: IngestedRequest, *,
                  target_found: bool = True) -> WebhookPayload:
    """Payload, board-memory note, delivery, its job and the activity event: all or nothing.

    ``organization_id`` comes with the webhook's lookup so the activity row costs no query;
    ``target_found`` too: False when that lookup found nobody to deliver to. Then the
    delivery waits for a target and has no job (``webhooks.waiting``), unless a target
    was appointed in the meantime. A target the notifier has nothing to push to (an agent
    on no gateway, or not set up on it yet) gets its first attempt recorded here, awaiting
    pick-up, and no job either: a job would only record the same thing later.
    """
    now = timezone.now()
    stored = WebhookPayload(
        webhook_id=webhook.pk, board_id=webhook.board_id, payload=storable(incoming.payload), headers=incoming.headers,
        source_ip=incoming.source_ip, content_type=incoming.content_type[:200], received_at=incoming.received_at or now)
    if incoming.payload_id is not None:
        stored.pk = incoming.payload_id
    note = BoardMemory(
        board_id=webhook.board_id, source=MEMORY_SOURCE, tags=["webhook", f"webhook:{webhook.pk}"],
        content=memory_note(description=webhook.description, board_id=webhook.board_id, webhook_id=webhook.pk,
                            payload_id=stored.pk, payload=incoming.payload),
        created_at=now)
    delivery = WebhookDelivery(payload=stored, agent_id=webhook.agent_id, next_attempt_at=now, created_at=now)
    with transaction.atomic():
        waits = not target_found and not waiting.has_target_now(webhook)
        awaits_pickup = False
        if waits:
            delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.WAITING, None
        else:
            target = target_facts(webhook)
            if target is not None and not needs_push(current_notifier(), target):
                # The first attempt would only leave the event where the agent will read it, and
                # it is there from this commit on: recorded here, as the worker would, with no job.
                awaits_pickup = True
                delivery.agent_id, delivery.attempts, delivery.last_attempt_at = target.pk, 1, now
                delivery.next_attempt_at = None
        received = activity.event("webhook.payload_received", actor=None, board=webhook.board_id,
                                  organization=organization_id, message="Webhook payload received.",
                                  data={"webhook_id": str(webhook.pk), "payload_id": str(stored.pk),
                                        "delivery_id": str(delivery.pk), "source_ip": incoming.source_ip})
        # The live-change stamps move in the same statement (agents.live.bump_statement).
        insert_rows([stored, note, delivery, received],
                    also=live.bump_statement(live.scopes_of(board_id=received.board_id,
                                                            organization_id=received.organization_id)))
        if not waits and not awaits_pickup:
            enqueue_delivery(delivery)
    return stored


def _webhook_data(webhook: Webhook) -> dict[str, Any]:
    return {"webhook_id": str(webhook.pk), "enabled": webhook.enabled, "has_secret": webhook.has_secret,
            "signature_header": webhook.signature_header,
            "agent_id": str(webhook.agent_id) if webhook.agent_id else None}


def create_webhook(board: Any, user: User, **fields: Any) -> Webhook:
    with transaction.atomic():
        webhook = Webhook.objects.create(board=board, **fields)
        activity.record("webhook.created", actor=user, board=board, message="Webhook created.",
                        data=_webhook_data(webhook))
    return webhook


def update_webhook(webhook: Webhook, user: User, **changes: Any) -> Webhook:
    # The secret's value never reaches the activity record; only that it changed.
    changed = sorted(name for name, value in changes.items() if getattr(webhook, name) != value)
    gets_agent = "agent" in changed and changes["agent"] is not None
    for name, value in changes.items():
        setattr(webhook, name, value)
    with transaction.atomic():
        if gets_agent:
            waiting.lock_board(webhook.board_id)
        webhook.save()
        if gets_agent:
            waiting.target_appointed(webhook.board)
        activity.record("webhook.updated", actor=user, board=webhook.board, message="Webhook changed.",
                        data={**_webhook_data(webhook), "changed": changed})
    return webhook


def delete_webhook(webhook: Webhook, user: User) -> None:
    with transaction.atomic():
        data = _webhook_data(webhook)
        board = webhook.board
        webhook_id = webhook.pk
        webhook.delete()
        transaction.on_commit(lambda: refusals.forget(webhook_id))
        activity.record("webhook.deleted", actor=user, board=board, message="Webhook deleted.", data=data)


def redeliver(payload: WebhookPayload, user: User) -> WebhookDelivery:
    """A person replays a payload: its delivery starts a new cycle of attempts now, or, when
    the webhook has nobody to deliver to, waits for a target (the answer's status says so)."""
    now = timezone.now()
    with transaction.atomic():
        waits = not waiting.has_target_now(payload.webhook)
        status = WebhookDelivery.Status.WAITING if waits else WebhookDelivery.Status.PENDING
        next_attempt_at = None if waits else now
        delivery = payload.deliveries.select_for_update().order_by("-created_at").first()
        if delivery is None:
            delivery = WebhookDelivery.objects.create(payload=payload, agent_id=payload.webhook.agent_id,
                                                      status=status, next_attempt_at=next_attempt_at, created_at=now)
        else:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                cycle=F("cycle") + 1, status=status, attempts=0, next_attempt_at=next_attempt_at,
                last_error="", delivered_at=None, updated_at=now)
            delivery.refresh_from_db()
        if not waits:
            enqueue_delivery(delivery)
        activity.record("webhook.payload_redelivered", actor=user, board=payload.board_id,
                        organization=payload.board.organization_id,
                        message="Webhook payload replayed; it waits for a target." if waits
                        else "Webhook payload replayed.",
                        data={"webhook_id": str(payload.webhook_id), "payload_id": str(payload.pk),
                              "delivery_id": str(delivery.pk), "cycle": delivery.cycle,
                              "waiting_for_target": waits})
    return delivery


def mark_picked_up(payload: WebhookPayload, agent: Agent) -> int:
    """The agent read the payload: when it is the target, its open deliveries are delivered.

    Dead deliveries count too: the event reached its agent after all, and the console
    should stop offering a replay for it. Returns how many deliveries changed."""
    webhook = payload.webhook
    if not is_target(webhook, agent):
        return 0
    now = timezone.now()
    with transaction.atomic():
        # Whoever the delivery last named (a lead since replaced, say), the current target has it now.
        changed = (WebhookDelivery.objects
                   .filter(payload=payload, status__in=(*OPEN_STATUSES, WebhookDelivery.Status.DEAD,
                                                        WebhookDelivery.Status.WAITING))
                   .update(status=WebhookDelivery.Status.DELIVERED, delivered_at=now, agent=agent,
                           next_attempt_at=None, last_error="", updated_at=now))
        if changed:
            activity.record("webhook.delivery_delivered", actor=agent, board=payload.board_id, agent=agent,
                            organization=agent.organization_id, message="Webhook event picked up by its agent.",
                            data={"webhook_id": str(webhook.pk), "payload_id": str(payload.pk)})
    return changed
