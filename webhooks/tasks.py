"""The background job that delivers a stored payload, run by ``manage.py db_worker``.

The job row lives in the database (django-tasks-db). It is inserted in the same
transaction as the payload and its delivery row, so a payload answered 202 always has
its job, and a rolled-back ingest leaves no orphan job behind.
"""

from __future__ import annotations

from datetime import datetime

from django.tasks import task

from webhooks.models import WebhookDelivery


@task()
def deliver_payload(delivery_id: str, cycle: int, attempt: int) -> str:
    """Attempt number ``attempt`` of ``cycle``; the answer says what became of it (for the job's record)."""
    from webhooks.delivery import run_attempt  # the attempt logic enqueues this task in turn

    return run_attempt(delivery_id, cycle, attempt)


def enqueue_delivery(delivery: WebhookDelivery, *, run_after: datetime | None = None) -> str:
    """Queue the next attempt of ``delivery``'s current cycle; call inside the transaction
    that changed the delivery so both commit together. Returns the job id."""
    job = deliver_payload.using(run_after=run_after) if run_after is not None else deliver_payload
    return job.enqueue(str(delivery.pk), delivery.cycle, delivery.attempts + 1).id


@task()
def start_waiting_deliveries(board_id: str) -> int:
    """The board's webhooks have a target again: their waiting deliveries start (how many, for the job's record)."""
    from webhooks.waiting import start_waiting

    return start_waiting(board_id)
