"""Delivery jobs: target choice, awaiting pickup, retries with backoff, dead letters, stale jobs."""

from __future__ import annotations

import random
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from agents.models import ActivityEvent
from ops.management.commands.reap_tasks import reap_stale_jobs
from tests.webhooks.conftest import make_retries_due, post, run_worker
from webhooks import delivery as delivery_module
from webhooks.models import WebhookDelivery
from webhooks.notifiers import AwaitingPickup, Outcome, use_notifier

pytestmark = pytest.mark.django_db


class FailingNotifier:
    name = "failing"

    def __init__(self, failures: int = 10**6, then: Outcome = Outcome.DELIVERED) -> None:
        self.failures = failures
        self.then = then
        self.calls = 0

    def notify(self, event):
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"gateway unreachable (call {self.calls})")
        return self.then


@pytest.fixture
def notifier_swap():
    previous = None

    def swap(notifier):
        nonlocal previous
        previous = use_notifier(notifier)
        return notifier

    yield swap
    if previous is not None:
        use_notifier(previous)


@pytest.fixture
def delivery_settings(settings):
    settings.WEBHOOK_DELIVERY_MAX_ATTEMPTS = 3
    settings.WEBHOOK_DELIVERY_BACKOFF_SECONDS = 10.0
    return settings


def ingest_one(client, webhook, body=None):
    response = post(client, webhook, body or {"event": "push"})
    assert response.status_code == 202
    return WebhookDelivery.objects.get(payload_id=response.json()["payload_id"])


# --- the happy path ----------------------------------------------------------------------


def test_the_worker_hands_the_event_to_the_board_lead_and_it_awaits_pickup(ingest_client, webhook, lead, pushing):
    delivery = ingest_one(ingest_client, webhook)

    assert run_worker() == 1

    delivery.refresh_from_db()
    assert delivery.agent_id == lead.id
    assert delivery.status == "pending"
    assert delivery.attempts == 1 and delivery.last_attempt_at is not None
    assert delivery.last_error == "" and delivery.next_attempt_at is None
    job = DBTaskResult.objects.get()
    assert job.status == TaskResultStatus.SUCCESSFUL
    assert job.return_value == "awaiting_pickup"


def test_the_webhook_agent_is_preferred_over_the_lead(ingest_client, webhook, lead, worker):
    webhook.agent = worker
    webhook.save()
    delivery = ingest_one(ingest_client, webhook)

    run_worker()

    delivery.refresh_from_db()
    assert delivery.agent_id == worker.id


def test_a_notifier_that_delivers_marks_the_delivery_delivered(ingest_client, webhook, lead, notifier_swap):
    notifier_swap(FailingNotifier(failures=0, then=Outcome.DELIVERED))
    delivery = ingest_one(ingest_client, webhook)

    run_worker()

    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.delivered_at is not None
    event = ActivityEvent.objects.get(event_type="webhook.delivery_delivered")
    assert event.actor_type == "system" and event.agent_id == lead.id


# --- failures, retries, dead letters -----------------------------------------------------


def test_a_failed_attempt_is_retried_later_with_backoff(ingest_client, webhook, lead, notifier_swap,
                                                        delivery_settings):
    notifier_swap(FailingNotifier())
    delivery = ingest_one(ingest_client, webhook)
    started = timezone.now()

    run_worker()

    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempts == 1
    assert "ConnectionError: gateway unreachable" in delivery.last_error
    retry = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    assert retry.args_kwargs["args"] == [str(delivery.id), 1, 2]
    # First retry: 10 s base, jittered between half and all of it.
    wait = (retry.run_after - started).total_seconds()
    assert 4.5 <= wait <= 11
    assert delivery.next_attempt_at == retry.run_after
    event = ActivityEvent.objects.get(event_type="webhook.delivery_failed")
    assert event.actor_type == "system" and event.data["attempt"] == 1
    # Not due yet: a worker passing by leaves it alone.
    assert run_worker() == 0


def test_a_delivery_that_keeps_failing_is_dead_after_the_last_attempt(ingest_client, webhook, lead,
                                                                      notifier_swap, delivery_settings):
    notifier = notifier_swap(FailingNotifier())
    delivery = ingest_one(ingest_client, webhook)

    for _ in range(5):
        run_worker()
        make_retries_due()

    delivery.refresh_from_db()
    assert notifier.calls == 3
    assert delivery.status == "dead"
    assert delivery.attempts == 3
    assert delivery.next_attempt_at is None
    assert "gateway unreachable (call 3)" in delivery.last_error
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists()
    assert ActivityEvent.objects.filter(event_type="webhook.delivery_failed").count() == 2
    dead = ActivityEvent.objects.get(event_type="webhook.delivery_dead")
    assert dead.actor_type == "system" and dead.data["attempt"] == 3


def test_a_delivery_that_recovers_before_the_limit_is_delivered(ingest_client, webhook, lead, notifier_swap,
                                                                delivery_settings):
    notifier_swap(FailingNotifier(failures=2, then=Outcome.DELIVERED))
    delivery = ingest_one(ingest_client, webhook)

    for _ in range(3):
        run_worker()
        make_retries_due()

    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 3 and delivery.last_error == ""


def test_a_delivery_whose_target_left_before_its_attempt_waits_without_a_retry(ingest_client, webhook, lead, pushing,
                                                                              delivery_settings):
    delivery = ingest_one(ingest_client, webhook)
    lead.delete()

    run_worker()

    delivery.refresh_from_db()
    assert delivery.status == "waiting" and delivery.attempts == 0 and delivery.next_attempt_at is None
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists()


def test_backoff_doubles_per_attempt_within_jitter_and_is_capped():
    rng = random.Random(7)
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80)]:
        waits = [delivery_module.backoff_seconds(attempt, base=10, rng=rng) for _ in range(50)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(set(waits)) > 1
    assert delivery_module.backoff_seconds(40, base=10, rng=rng) <= delivery_module.MAX_BACKOFF_SECONDS


def test_a_job_of_an_earlier_cycle_stands_down(ingest_client, webhook, lead, pushing):
    delivery = ingest_one(ingest_client, webhook)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(cycle=2)

    assert delivery_module.run_attempt(str(delivery.pk), 1, 1) == "skipped"
    delivery.refresh_from_db()
    assert delivery.attempts == 0


def test_a_job_run_again_after_its_attempt_was_recorded_stands_down(ingest_client, webhook, lead, notifier_swap,
                                                                    delivery_settings):
    # The worker recorded attempt 1 (and queued the retry), then died before marking its job
    # done; the reaper hands the job out again.
    notifier = notifier_swap(FailingNotifier())
    delivery = ingest_one(ingest_client, webhook)
    run_worker()
    first_job = DBTaskResult.objects.get(status=TaskResultStatus.SUCCESSFUL)
    DBTaskResult.objects.filter(pk=first_job.pk).update(status=TaskResultStatus.READY)

    run_worker()

    first_job.refresh_from_db()
    assert first_job.return_value == "skipped"
    assert notifier.calls == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 1  # still one retry chain


def test_a_job_for_a_deleted_delivery_finishes_quietly(ingest_client, webhook, lead, pushing):
    delivery = ingest_one(ingest_client, webhook)
    delivery.delete()

    run_worker()

    assert DBTaskResult.objects.get().return_value == "gone"


def test_the_default_notifier_leaves_the_event_for_pickup():
    assert AwaitingPickup().notify(None) is Outcome.AWAITING_PICKUP


# --- stale jobs ----------------------------------------------------------------------------


def claim_as_dead_worker(job: DBTaskResult, minutes_ago: int) -> None:
    """What a worker that crashed mid-job leaves behind: RUNNING, started long ago."""
    job.claim("worker-that-died")
    DBTaskResult.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(minutes=minutes_ago))


def test_a_job_left_running_by_a_dead_worker_is_reaped_and_then_delivered(ingest_client, webhook, lead, pushing):
    delivery = ingest_one(ingest_client, webhook)
    claim_as_dead_worker(DBTaskResult.objects.get(), minutes_ago=30)
    assert run_worker() == 0  # nobody picks a RUNNING job

    out = StringIO()
    call_command("reap_tasks", "--older-than", "600", stdout=out)

    assert "Returned 1 stale job" in out.getvalue()
    assert DBTaskResult.objects.get().status == TaskResultStatus.READY
    run_worker()
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.agent_id == lead.id
    assert DBTaskResult.objects.get().status == TaskResultStatus.SUCCESSFUL


def test_a_job_running_for_less_than_the_threshold_is_left_alone(ingest_client, webhook, lead, pushing):
    ingest_one(ingest_client, webhook)
    claim_as_dead_worker(DBTaskResult.objects.get(), minutes_ago=2)

    assert reap_stale_jobs(timedelta(minutes=10)) == 0
    assert DBTaskResult.objects.get().status == TaskResultStatus.RUNNING


def test_finished_jobs_are_never_reaped(ingest_client, webhook, lead, pushing):
    ingest_one(ingest_client, webhook)
    run_worker()
    DBTaskResult.objects.update(started_at=timezone.now() - timedelta(days=1))

    assert reap_stale_jobs(timedelta(minutes=1)) == 0
    assert DBTaskResult.objects.get().status == TaskResultStatus.SUCCESSFUL


def test_reap_tasks_refuses_a_threshold_that_is_not_a_positive_number():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("reap_tasks", "--older-than", "0")
