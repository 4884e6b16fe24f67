"""GET /api/v1/agent/boards/{id}/webhooks/{webhook_id}/payloads/{payload_id}: the agent's read,
and the pickup that completes a delivery."""

from __future__ import annotations

import json
import uuid

import pytest

from agents.models import ActivityEvent
from tests.webhooks.conftest import post, run_worker
from webhooks.models import WebhookDelivery, WebhookPayload

pytestmark = pytest.mark.django_db


def agent_url(webhook, payload_id, board_id=None) -> str:
    return f"/api/v1/agent/boards/{board_id or webhook.board_id}/webhooks/{webhook.id}/payloads/{payload_id}"


@pytest.fixture
def payload_id(ingest_client, webhook):
    return post(ingest_client, webhook, {"repository": "acme/site", "commits": ["a" * 50, "b" * 50]}).json()[
        "payload_id"]


def test_the_lead_reads_a_payload_of_its_board(as_agent, lead, webhook, payload_id):
    response = as_agent(lead).get(agent_url(webhook, payload_id))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "board_id", "webhook_id", "payload", "headers", "source_ip", "content_type",
                         "received_at"}
    assert body["payload"] == {"repository": "acme/site", "commits": ["a" * 50, "b" * 50]}
    assert body["webhook_id"] == str(webhook.id)


def test_a_worker_reads_it_too(as_agent, worker, lead, webhook, payload_id):
    assert as_agent(worker).get(agent_url(webhook, payload_id)).status_code == 200


def test_a_long_payload_is_cut_to_max_chars_ending_in_dots(as_agent, lead, webhook, payload_id):
    body = as_agent(lead).get(agent_url(webhook, payload_id) + "?max_chars=40").json()

    assert isinstance(body["payload"], str)
    assert len(body["payload"]) == 40 and body["payload"].endswith("...")
    # The JSON text of the payload as stored (Postgres' jsonb keeps its own key order).
    full = json.dumps(WebhookPayload.objects.get().payload, ensure_ascii=False)
    assert body["payload"] == full[:37] + "..."


def test_a_payload_within_max_chars_is_returned_whole(as_agent, lead, webhook, payload_id):
    body = as_agent(lead).get(agent_url(webhook, payload_id) + "?max_chars=1000000").json()

    assert body["payload"]["repository"] == "acme/site"


@pytest.mark.parametrize("value", ["0", "-1", "1000001", "many", "1.5"])
def test_max_chars_outside_1_to_1000000_is_422(as_agent, lead, webhook, payload_id, value):
    response = as_agent(lead).get(agent_url(webhook, payload_id) + f"?max_chars={value}")

    assert response.status_code == 422
    assert "max_chars" in response.json()["detail"]


def test_an_agent_of_another_board_is_refused(as_agent, foreign_agent, webhook, payload_id):
    response = as_agent(foreign_agent).get(agent_url(webhook, payload_id))

    assert response.status_code == 403
    assert response.json()["detail"]["code"] == "board_out_of_reach"


def test_the_main_agent_is_not_among_the_roles(as_agent, main_agent, webhook, payload_id):
    response = as_agent(main_agent).get(agent_url(webhook, payload_id))

    assert response.status_code == 403
    assert response.json()["detail"]["code"] == "agent_role_not_allowed"


def test_an_unknown_payload_is_404(as_agent, lead, webhook, payload_id):
    for url in (agent_url(webhook, uuid.uuid4()), agent_url(webhook, "not-a-uuid")):
        response = as_agent(lead).get(url)
        assert response.status_code == 404
        assert response.json()["detail"]["code"] == "webhook_payload_not_found"


def test_a_payload_asked_for_under_another_webhook_is_404(as_agent, lead, webhook, signed_webhook, payload_id):
    response = as_agent(lead).get(agent_url(signed_webhook, payload_id))

    assert response.status_code == 404


def test_without_a_token_it_is_401(api_client, webhook, payload_id):
    response = api_client.get(agent_url(webhook, payload_id))

    assert response.status_code == 401
    assert set(response.json()) == {"detail", "request_id"}


# --- pickup ------------------------------------------------------------------------------


def test_the_target_reading_the_payload_marks_its_delivery_delivered(as_agent, lead, webhook, payload_id):
    run_worker()
    assert WebhookDelivery.objects.get().status == "pending"

    as_agent(lead).get(agent_url(webhook, payload_id))

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered" and delivery.delivered_at is not None
    assert delivery.agent_id == lead.id
    event = ActivityEvent.objects.get(event_type="webhook.delivery_delivered")
    assert event.actor_type == "agent" and event.actor_agent_id == lead.id
    assert event.data["payload_id"] == payload_id


def test_a_pickup_before_the_worker_ran_completes_the_delivery_and_the_job_stands_down(as_agent, lead, webhook,
                                                                                       pushing, payload_id):
    as_agent(lead).get(agent_url(webhook, payload_id))

    run_worker()

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered" and delivery.attempts == 0


def test_an_agent_that_is_not_the_target_does_not_complete_the_delivery(as_agent, lead, worker, webhook,
                                                                        payload_id):
    run_worker()

    as_agent(worker).get(agent_url(webhook, payload_id))

    assert WebhookDelivery.objects.get().status == "pending"
    assert not ActivityEvent.objects.filter(event_type="webhook.delivery_delivered").exists()


def test_the_webhook_agent_is_the_one_whose_read_counts(as_agent, lead, worker, webhook, ingest_client):
    webhook.agent = worker
    webhook.save()
    payload_id = post(ingest_client, webhook, {"a": 1}).json()["payload_id"]
    run_worker()

    as_agent(lead).get(agent_url(webhook, payload_id))
    assert WebhookDelivery.objects.get().status == "pending"

    as_agent(worker).get(agent_url(webhook, payload_id))
    assert WebhookDelivery.objects.get().status == "delivered"


def test_reading_twice_records_one_delivery(as_agent, lead, webhook, payload_id):
    client = as_agent(lead)
    client.get(agent_url(webhook, payload_id))
    client.get(agent_url(webhook, payload_id))

    assert ActivityEvent.objects.filter(event_type="webhook.delivery_delivered").count() == 1


def test_a_new_lead_reading_completes_a_delivery_made_out_to_the_old_one(as_agent, lead, webhook, payload_id, board):
    from tests.conftest import make_agent

    run_worker()
    assert WebhookDelivery.objects.get().agent_id == lead.id
    lead.is_board_lead = False
    lead.save()
    new_lead = make_agent("New lead", board=board, lead=True)

    as_agent(new_lead).get(agent_url(webhook, payload_id))

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered" and delivery.agent_id == new_lead.id
