"""Delivery attempts: who gets an event, what one attempt does, when the next one runs.

A delivery belongs to one payload and drives its attempts. Each attempt is a job; a
failed attempt schedules the next job (exponential backoff with jitter) in the same
transaction that records the failure, until ``WEBHOOK_DELIVERY_MAX_ATTEMPTS`` attempts
have failed and the delivery is ``dead``. A person's replay starts a new cycle: the
``cycle`` number on the row moves on, and jobs of earlier cycles stand down. A job also
names the attempt it is for: a job run twice (its worker died after recording the
attempt, and the job was reaped) finds the attempt done and stands down, instead of
starting a second chain of retries.

A delivery with nobody to deliver to (the webhook names no agent, the board has no
lead) is not an attempt and not a failure: it is marked ``waiting``, with no job and no
retry, until ``webhooks.waiting`` starts it again. Retries and ``dead`` are for attempts
that really failed.

Status changes are conditional UPDATEs on (id, cycle, attempts, status): the agent
picking the payload up, a replay and a running attempt may race, and exactly one wins.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from agents import activity
from agents.models import Agent
from webhooks.models import Webhook, WebhookDelivery
from webhooks.notifiers import DeliveryEvent, Outcome, current_notifier
from webhooks.tasks import enqueue_delivery

logger = logging.getLogger("webhooks.delivery")

# A retry waits at most this long, however many attempts came before.
MAX_BACKOFF_SECONDS = 3600.0
WAITING_REASON = ("Waiting for a target: the webhook names no agent and the board has no lead. "
                  "The event is in board memory; it is delivered once the board gets a lead or the webhook "
                  "an agent.")
OPEN_STATUSES = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.FAILED)


def target_for(webhook: Webhook) -> Agent | None:
    """The webhook's own agent when it is still on the board, else the board's lead."""
    if webhook.agent_id is not None:
        agent = Agent.objects.filter(pk=webhook.agent_id, board_id=webhook.board_id).first()
        if agent is not None:
            return agent
    return Agent.objects.filter(board_id=webhook.board_id, is_board_lead=True).first()


def target_from_row(webhook: Webhook, agent_id: Any, gateway_id: Any, provisioned_at: Any) -> Agent | None:
    """The target of :func:`target_facts` from its three columns read by plain SQL: an agent
    with only what deciding on a push needs (id, gateway, provisioning time)."""
    if agent_id is None:
        return None
    pk = Agent._meta.pk
    agent = Agent(id=pk.to_python(agent_id), board_id=webhook.board_id,
                  gateway_id=pk.to_python(gateway_id) if gateway_id is not None else None,
                  provisioned_at=Agent._meta.get_field("provisioned_at").to_python(provisioned_at))
    agent._state.adding = False
    return agent


# Where the ingest's lookup leaves the target it read in the same query.
_KNOWN_TARGET = "_delivery_target"


def remember_target(webhook: Webhook, target: Agent | None) -> None:
    setattr(webhook, _KNOWN_TARGET, target)


def target_facts(webhook: Webhook) -> Agent | None:
    """:func:`target_for` with only the facts a push decision needs: what the ingest's
    lookup read (:func:`remember_target`), else one plain SELECT."""
    if hasattr(webhook, _KNOWN_TARGET):
        return getattr(webhook, _KNOWN_TARGET)
    quote = connection.ops.quote_name
    table = quote(Agent._meta.db_table)
    pk = Agent._meta.pk
    own = pk.get_db_prep_value(webhook.agent_id, connection) if webhook.agent_id is not None else None
    sql = (f"SELECT {quote('id')}, {quote('gateway_id')}, {quote('provisioned_at')} FROM {table} "
           f"WHERE {quote('board_id')} = %s AND ({quote('id')} = %s OR {quote('is_board_lead')}) "
           f"ORDER BY CASE WHEN {quote('id')} = %s THEN 0 ELSE 1 END, {quote('name')} LIMIT 1")
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk.get_db_prep_value(webhook.board_id, connection), own, own])
        row = cursor.fetchone()
    return None if row is None else target_from_row(webhook, *row)


def has_target(webhook: Webhook) -> bool:
    """Whether :func:`target_for` would find someone, in one query."""
    lead_or_own = Q(is_board_lead=True)
    if webhook.agent_id is not None:
        lead_or_own |= Q(pk=webhook.agent_id)
    return Agent.objects.filter(lead_or_own, board_id=webhook.board_id).exists()


def is_target(webhook: Webhook, agent: Agent) -> bool:
    """Whether ``agent`` is the webhook's target, without a query."""
    if agent.board_id != webhook.board_id:
        return False
    if webhook.agent_id is not None:
        return agent.pk == webhook.agent_id
    return agent.is_board_lead


def backoff_seconds(attempt: int, *, base: float | None = None, rng: random.Random | None = None) -> float:
    """Wait before the attempt after ``attempt``: base * 2^(attempt-1), between half and all of it.

    The random half spreads retries of many deliveries that failed together (a gateway
    outage) so they do not all come back in the same second."""
    base = settings.WEBHOOK_DELIVERY_BACKOFF_SECONDS if base is None else base
    ceiling = min(base * (2 ** max(attempt - 1, 0)), MAX_BACKOFF_SECONDS)
    return ceiling * (rng or random).uniform(0.5, 1.0)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]


def run_attempt(delivery_id: str, cycle: int, attempt: int, *, now: datetime | None = None) -> str:
    """Attempt number ``attempt`` at ``delivery_id`` in ``cycle``. Returns what became of it."""
    delivery = (WebhookDelivery.objects.select_related("payload__webhook__board")
                .filter(pk=delivery_id).first())
    if delivery is None:
        return "gone"
    if delivery.cycle != cycle or delivery.attempts != attempt - 1 or delivery.status not in OPEN_STATUSES:
        return "skipped"
    payload = delivery.payload
    webhook = payload.webhook
    now = now or timezone.now()
    target = target_for(webhook)
    if target is None:
        return _wait_for_target(delivery, cycle, attempt, now)

    error = ""
    status = WebhookDelivery.Status.PENDING
    notifier = current_notifier()
    try:
        outcome = notifier.notify(DeliveryEvent(delivery=delivery, payload=payload, webhook=webhook,
                                                agent=target, attempt=attempt))
    except Exception as exc:  # noqa: BLE001  (whatever a notifier raises is a failed attempt)
        error = _describe(exc)
        status = WebhookDelivery.Status.FAILED
        logger.warning("Webhook delivery %s attempt %s failed: %s", delivery.pk, attempt, error,
                       extra={"delivery_id": str(delivery.pk), "attempt": attempt, "notifier": notifier.name})
    else:
        if outcome is Outcome.DELIVERED:
            status = WebhookDelivery.Status.DELIVERED

    retry_at: datetime | None = None
    if error:
        if attempt >= settings.WEBHOOK_DELIVERY_MAX_ATTEMPTS:
            status = WebhookDelivery.Status.DEAD
        else:
            retry_at = now + timedelta(seconds=backoff_seconds(attempt))

    changes: dict[str, Any] = {
        "attempts": attempt, "last_attempt_at": now, "status": status, "last_error": error,
        "next_attempt_at": retry_at, "updated_at": now, "agent": target,
    }
    if status == WebhookDelivery.Status.DELIVERED:
        changes["delivered_at"] = now

    with transaction.atomic():
        claimed = (WebhookDelivery.objects
                   .filter(pk=delivery.pk, cycle=cycle, attempts=attempt - 1, status__in=OPEN_STATUSES)
                   .update(**changes))
        if not claimed:
            # Picked up by the agent or replayed while this attempt ran; the winner has recorded it.
            return "skipped"
        data = {"delivery_id": str(delivery.pk), "payload_id": str(payload.pk), "webhook_id": str(webhook.pk),
                "attempt": attempt, "cycle": cycle}
        if retry_at is not None:
            delivery.attempts = attempt
            enqueue_delivery(delivery, run_after=retry_at)
        if status == WebhookDelivery.Status.DEAD:
            activity.record("webhook.delivery_dead", actor=None, board=webhook.board, agent=target,
                            message=f"Webhook delivery gave up after {attempt} attempts: {error}",
                            data={**data, "error": error})
        elif status == WebhookDelivery.Status.FAILED:
            activity.record("webhook.delivery_failed", actor=None, board=webhook.board, agent=target,
                            message=f"Webhook delivery attempt {attempt} failed: {error}",
                            data={**data, "error": error, "next_attempt_at": retry_at.isoformat() if retry_at else None})
        elif status == WebhookDelivery.Status.DELIVERED:
            activity.record("webhook.delivery_delivered", actor=None, board=webhook.board, agent=target,
                            message="Webhook event delivered.", data=data)
    return "awaiting_pickup" if status == WebhookDelivery.Status.PENDING else str(status)


def _wait_for_target(delivery: WebhookDelivery, cycle: int, attempt: int, now: datetime) -> str:
    """Nobody to deliver to (the lead left, say, since the event came in): the delivery waits,
    its attempt count unchanged, and no further job is queued."""
    WebhookDelivery.objects.filter(pk=delivery.pk, cycle=cycle, attempts=attempt - 1,
                                   status__in=OPEN_STATUSES).update(
        status=WebhookDelivery.Status.WAITING, next_attempt_at=None, updated_at=now)
    return "waiting_for_target"
