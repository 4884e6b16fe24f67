"""Deliveries with nobody to deliver to wait, with no job, until the board gets a lead or
the webhook an agent; then they start, oldest first, through the normal attempts."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from agents import rules
from agents.models import ActivityEvent
from tests.conftest import make_agent, make_board
from tests.webhooks.conftest import make_retries_due, post, run_worker
from webhooks import services
from webhooks.models import Webhook, WebhookDelivery, WebhookPayload
from webhooks.notifiers import Outcome, use_notifier

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]


class RecordingNotifier:
    """Delivers every event and remembers which deliveries it was handed, in order."""

    name = "recording"

    def __init__(self) -> None:
        self.delivered: list[str] = []

    def notify(self, event):
        self.delivered.append(str(event.delivery.pk))
        return Outcome.DELIVERED


@pytest.fixture
def recording():
    notifier = RecordingNotifier()
    previous = use_notifier(notifier)
    yield notifier
    use_notifier(previous)


@pytest.fixture
def leaderless(org):
    """A board without a lead (and without a gateway, so adding agents provisions nothing)."""
    return make_board(org, "Setting up")


@pytest.fixture
def leaderless_webhook(leaderless):
    return Webhook.objects.create(board=leaderless, description="Triage events.")


def ingest(ingest_client, webhook, count: int) -> list[str]:
    """``count`` events, each from its own address (the ingest limit counts per address)."""
    ids = []
    for n in range(count):
        response = post(ingest_client, webhook, {"n": n}, ip=f"10.9.{n // 250}.{n % 250}")
        assert response.status_code == 202, response.content
        ids.append(response.json()["payload_id"])
    return ids


def deliveries_in_order(payload_ids: list[str]) -> list[str]:
    by_payload = dict(WebhookDelivery.objects.filter(payload_id__in=payload_ids).values_list("payload_id", "pk"))
    return [str(by_payload[WebhookPayload._meta.pk.to_python(pid)]) for pid in payload_ids]


def test_a_hundred_events_without_a_target_wait_and_run_no_job_until_a_lead_comes(
        ingest_client, owner, leaderless, leaderless_webhook, recording):
    payload_ids = ingest(ingest_client, leaderless_webhook, 100)

    assert WebhookDelivery.objects.filter(status="waiting").count() == 100
    assert DBTaskResult.objects.count() == 0
    assert run_worker() == 0

    rules.add_agent(owner, {"name": "Lead", "board_id": leaderless.pk, "is_board_lead": True})
    ran = run_worker()

    # One job starts the waiting deliveries, then one attempt each.
    assert ran == 101
    assert recording.delivered == deliveries_in_order(payload_ids)
    assert WebhookDelivery.objects.filter(status="delivered", attempts=1).count() == 100
    make_retries_due()
    assert run_worker() == 0 and len(recording.delivered) == 100


def test_making_an_agent_the_lead_starts_the_waiting_deliveries(ingest_client, owner, leaderless,
                                                                leaderless_webhook, recording):
    scout = make_agent("Scout", board=leaderless)
    ingest(ingest_client, leaderless_webhook, 3)

    rules.update_agent(owner, scout, {"is_board_lead": True})
    run_worker()

    assert len(recording.delivered) == 3
    assert set(WebhookDelivery.objects.values_list("status", "agent_id")) == {("delivered", scout.pk)}


def test_naming_an_agent_on_the_webhook_starts_its_waiting_deliveries(ingest_client, client_for, owner, leaderless,
                                                                      leaderless_webhook, recording):
    scout = make_agent("Scout", board=leaderless)
    other = Webhook.objects.create(board=leaderless, description="Still nobody's.")
    ingest(ingest_client, leaderless_webhook, 2)
    left_waiting = ingest(ingest_client, other, 1)

    response = client_for(owner).patch(f"/api/v1/boards/{leaderless.pk}/webhooks/{leaderless_webhook.pk}",
                                       {"agent_id": str(scout.pk)}, format="json")
    assert response.status_code == 200, response.content
    run_worker()

    assert len(recording.delivered) == 2
    assert WebhookDelivery.objects.get(payload_id=left_waiting[0]).status == "waiting"


def test_adding_a_worker_or_a_lead_with_nothing_waiting_queues_no_job(owner, leaderless, leaderless_webhook, board):
    rules.add_agent(owner, {"name": "Worker", "board_id": leaderless.pk})
    assert DBTaskResult.objects.count() == 0

    rules.add_agent(owner, {"name": "Lead", "board_id": leaderless.pk, "is_board_lead": True})
    assert DBTaskResult.objects.count() == 0


def test_a_lead_on_another_board_starts_nothing(ingest_client, owner, leaderless_webhook, org, recording):
    elsewhere = make_board(org, "Elsewhere")
    ingest(ingest_client, leaderless_webhook, 2)

    rules.add_agent(owner, {"name": "Lead", "board_id": elsewhere.pk, "is_board_lead": True})
    run_worker()

    assert recording.delivered == []
    assert WebhookDelivery.objects.filter(status="waiting").count() == 2


def test_an_ingest_that_finds_a_lead_appointed_since_its_lookup_delivers_as_usual(leaderless, leaderless_webhook,
                                                                                  recording):
    # The lookup outside the transaction saw no target; the lead came before the transaction.
    make_agent("Lead", board=leaderless, lead=True)
    stored = services.store_payload(leaderless_webhook, leaderless.organization_id,
                                    services.IngestedRequest(payload={"a": 1}, headers={}, source_ip="10.0.0.1",
                                                             content_type="application/json"),
                                    target_found=False)

    assert WebhookDelivery.objects.get(payload=stored).status == "pending"
    assert run_worker() == 1 and len(recording.delivered) == 1


def test_a_waiting_delivery_says_why_in_the_api_and_on_the_webhook_page(ingest_client, client, client_for, owner,
                                                                        leaderless, leaderless_webhook):
    [payload_id] = ingest(ingest_client, leaderless_webhook, 1)

    body = client_for(owner).get(
        f"/api/v1/boards/{leaderless.pk}/webhooks/{leaderless_webhook.pk}/payloads/{payload_id}").json()
    [delivery] = body["deliveries"]
    assert delivery["status"] == "waiting" and delivery["attempts"] == 0 and delivery["next_attempt_at"] is None
    assert delivery["waiting_reason"].startswith("Waiting for a target: the webhook names no agent and the board "
                                                 "has no lead.")

    client.force_login(owner)
    html = client.get(reverse("webhooks_console:webhook", args=[leaderless.pk, leaderless_webhook.pk])).content.decode()
    assert 'class="badge waiting">Waiting for a target</span>' in html
    assert "the board has no lead" in html
    assert "No target" in html


def test_replaying_a_payload_without_a_target_says_it_waits(ingest_client, client, client_for, owner, leaderless,
                                                            leaderless_webhook):
    [payload_id] = ingest(ingest_client, leaderless_webhook, 1)
    url = f"/api/v1/boards/{leaderless.pk}/webhooks/{leaderless_webhook.pk}/payloads/{payload_id}/redeliver"

    response = client_for(owner).post(url)

    assert response.status_code == 202
    assert response.json()["status"] == "waiting" and response.json()["cycle"] == 2
    assert "no lead" in response.json()["waiting_reason"]
    assert DBTaskResult.objects.count() == 0
    event = ActivityEvent.objects.get(event_type="webhook.payload_redelivered")
    assert event.data["waiting_for_target"] is True

    client.force_login(owner)
    page = client.post(reverse("webhooks_console:replay", args=[leaderless.pk, leaderless_webhook.pk, payload_id]),
                       follow=True)
    assert "there is nobody to deliver to" in page.content.decode()
    assert DBTaskResult.objects.count() == 0


def test_a_delivery_that_failed_and_lost_its_target_waits_then_continues_its_count(
        ingest_client, owner, leaderless, leaderless_webhook, settings):
    settings.WEBHOOK_DELIVERY_MAX_ATTEMPTS = 3

    class FailsOnce:
        name = "fails_once"
        calls = 0

        def notify(self, event):
            FailsOnce.calls += 1
            if FailsOnce.calls == 1:
                raise TimeoutError("gateway timed out")
            return Outcome.DELIVERED

    previous = use_notifier(FailsOnce())
    try:
        lead = make_agent("Lead", board=leaderless, lead=True)
        ingest(ingest_client, leaderless_webhook, 1)
        run_worker()
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == "failed" and delivery.attempts == 1

        rules.delete_agent(owner, lead)
        make_retries_due()
        run_worker()
        delivery.refresh_from_db()
        assert delivery.status == "waiting" and delivery.attempts == 1
        assert "timed out" in delivery.last_error  # the real failure stays on record

        rules.add_agent(owner, {"name": "New lead", "board_id": leaderless.pk, "is_board_lead": True})
        run_worker()
        delivery.refresh_from_db()
        assert delivery.status == "delivered" and delivery.attempts == 2
    finally:
        use_notifier(previous)


@pytest.mark.django_db(transaction=True)
def test_an_ingest_while_a_lead_is_being_appointed_waits_for_it_and_is_delivered(ingest_client, owner, leaderless,
                                                                                 leaderless_webhook, recording):
    """Postgres runs the two side by side: the ingest's lookup sees no lead yet (not
    committed), so it waits on the board's row lock and looks again once the lead is in."""
    import threading

    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time; nothing runs side by side")
    appointed, finish = threading.Event(), threading.Event()

    def appoint():
        try:
            with transaction.atomic():
                rules.add_agent(owner, {"name": "Lead", "board_id": leaderless.pk, "is_board_lead": True})
                appointed.set()
                finish.wait(10)
        finally:
            connection.close()

    appointing = threading.Thread(target=appoint)
    appointing.start()
    assert appointed.wait(10)
    threading.Timer(0.5, finish.set).start()

    [payload_id] = ingest(ingest_client, leaderless_webhook, 1)
    appointing.join(10)

    assert WebhookDelivery.objects.get(payload_id=payload_id).status == "pending"
    run_worker()
    assert len(recording.delivered) == 1
