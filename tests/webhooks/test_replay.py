"""POST .../payloads/{payload_id}/redeliver: a person replays a payload."""

from __future__ import annotations

import pytest
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from agents.models import ActivityEvent
from tests.webhooks.conftest import make_retries_due, post, run_worker
from webhooks.models import WebhookDelivery
from webhooks.notifiers import use_notifier

pytestmark = pytest.mark.django_db


class AlwaysFailing:
    name = "always_failing"

    def notify(self, event):
        raise TimeoutError("gateway timed out")


@pytest.fixture
def dead_delivery(ingest_client, webhook, lead, settings):
    settings.WEBHOOK_DELIVERY_MAX_ATTEMPTS = 2
    previous = use_notifier(AlwaysFailing())
    try:
        payload_id = post(ingest_client, webhook, {"a": 1}).json()["payload_id"]
        for _ in range(3):
            run_worker()
            make_retries_due()
    finally:
        use_notifier(previous)
    delivery = WebhookDelivery.objects.get(payload_id=payload_id)
    assert delivery.status == "dead"
    return delivery


def redeliver_url(webhook, payload_id) -> str:
    return f"/api/v1/boards/{webhook.board_id}/webhooks/{webhook.id}/payloads/{payload_id}/redeliver"


def test_an_admin_replays_a_dead_delivery_as_a_new_cycle(client_for, owner, webhook, dead_delivery):
    response = client_for(owner).post(redeliver_url(webhook, dead_delivery.payload_id))

    assert response.status_code == 202
    body = response.json()
    assert body["id"] == str(dead_delivery.id)
    assert body["status"] == "pending" and body["attempts"] == 0 and body["cycle"] == 2
    assert body["last_error"] == ""
    job = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    assert job.args_kwargs["args"] == [str(dead_delivery.id), 2, 1]
    event = ActivityEvent.objects.get(event_type="webhook.payload_redelivered")
    assert event.actor_type == "user" and event.actor_user_id == owner.id
    assert event.data["payload_id"] == str(dead_delivery.payload_id)


def test_the_replayed_delivery_runs_again_and_awaits_pickup(client_for, owner, webhook, lead, dead_delivery):
    client_for(owner).post(redeliver_url(webhook, dead_delivery.payload_id))

    run_worker()

    dead_delivery.refresh_from_db()
    assert dead_delivery.status == "pending" and dead_delivery.attempts == 1 and dead_delivery.cycle == 2
    assert dead_delivery.last_error == ""


def test_a_retry_of_the_replaced_cycle_stands_down(client_for, owner, ingest_client, webhook, lead, settings):
    previous = use_notifier(AlwaysFailing())
    try:
        payload_id = post(ingest_client, webhook, {"a": 1}).json()["payload_id"]
        run_worker()  # attempt 1 fails; a retry of cycle 1 is queued
    finally:
        use_notifier(previous)

    client_for(owner).post(redeliver_url(webhook, payload_id))
    make_retries_due()
    run_worker()

    delivery = WebhookDelivery.objects.get()
    assert delivery.cycle == 2 and delivery.attempts == 1 and delivery.status == "pending"
    answers = sorted(DBTaskResult.objects.filter(status=TaskResultStatus.SUCCESSFUL)
                     .values_list("return_value", flat=True))
    assert answers == ["awaiting_pickup", "failed", "skipped"]


def test_a_member_cannot_replay(client_for, member, webhook, dead_delivery):
    response = client_for(member).post(redeliver_url(webhook, dead_delivery.payload_id))

    assert response.status_code == 403
    assert response.json()["detail"]["code"] == "admin_required"
    dead_delivery.refresh_from_db()
    assert dead_delivery.status == "dead"


def test_an_outsider_cannot_see_the_payload_to_replay(client_for, outsider, webhook, dead_delivery):
    response = client_for(outsider).post(redeliver_url(webhook, dead_delivery.payload_id))

    assert response.status_code == 404
    assert set(response.json()) == {"detail", "request_id"}


def test_an_agent_cannot_replay(as_agent, lead, webhook, dead_delivery):
    response = as_agent(lead).post(redeliver_url(webhook, dead_delivery.payload_id))

    assert response.status_code == 401
    assert set(response.json()) == {"detail", "request_id"}
    dead_delivery.refresh_from_db()
    assert dead_delivery.status == "dead"
