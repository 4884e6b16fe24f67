"""The webhook configuration API for people: who may read and change, and what is shown."""

from __future__ import annotations

import uuid

import pytest

from agents.models import ActivityEvent
from tests.webhooks.conftest import SECRET, post
from webhooks.models import Webhook, WebhookPayload

pytestmark = pytest.mark.django_db


def webhooks_url(board) -> str:
    return f"/api/v1/boards/{board.id}/webhooks"


def webhook_url(webhook) -> str:
    return f"/api/v1/boards/{webhook.board_id}/webhooks/{webhook.id}"


def assert_refused(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail", "request_id"}
    return body["detail"]


# --- create ------------------------------------------------------------------------------


def test_an_admin_creates_a_webhook_and_its_secret_is_never_shown(client_for, owner, board, lead, settings):
    settings.BASE_URL = "https://mc.example.org"

    response = client_for(owner).post(webhooks_url(board), {
        "description": "Triage CI failures.", "secret": SECRET, "signature_header": "X-Signature",
    }, format="json")

    assert response.status_code == 201
    body = response.json()
    webhook = Webhook.objects.get()
    assert webhook.secret == SECRET
    assert "secret" not in body and SECRET not in response.content.decode()
    path = f"/api/v1/boards/{board.id}/webhooks/{webhook.id}"
    assert body == {
        "id": str(webhook.id), "board_id": str(board.id), "description": "Triage CI failures.", "enabled": True,
        "has_secret": True, "signature_header": "X-Signature", "agent_id": None, "endpoint_path": path,
        "endpoint_url": "https://mc.example.org" + path, "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    event = ActivityEvent.objects.get(event_type="webhook.created")
    assert event.actor_type == "user" and event.actor_user_id == owner.id
    assert event.board_id == board.id
    assert SECRET not in str(event.data)


def test_a_webhook_may_name_an_agent_of_its_board(client_for, owner, board, worker):
    response = client_for(owner).post(webhooks_url(board), {"agent_id": str(worker.id)}, format="json")

    assert response.status_code == 201
    assert response.json()["agent_id"] == str(worker.id)
    assert response.json()["has_secret"] is False


def test_an_agent_of_another_board_is_422(client_for, owner, board, foreign_agent):
    response = client_for(owner).post(webhooks_url(board), {"agent_id": str(foreign_agent.id)}, format="json")

    detail = assert_refused(response, 422)
    assert "agent_id" in detail
    assert not Webhook.objects.exists()


def test_an_unknown_agent_is_422(client_for, owner, board):
    response = client_for(owner).post(webhooks_url(board), {"agent_id": str(uuid.uuid4())}, format="json")

    assert "agent_id" in assert_refused(response, 422)


@pytest.mark.parametrize("header", ["X Signature", "X-Sig:nature", "Sig\u00e9", "(sig)", "a" * 101])
def test_a_signature_header_that_is_not_a_header_name_is_422(client_for, owner, board, header):
    response = client_for(owner).post(webhooks_url(board), {"signature_header": header}, format="json")

    assert "signature_header" in assert_refused(response, 422)


def test_unknown_fields_are_422(client_for, owner, board):
    response = client_for(owner).post(webhooks_url(board), {"secrett": "typo"}, format="json")

    assert "secrett" in assert_refused(response, 422)


def test_a_member_cannot_create_a_webhook(client_for, member, board):
    detail = assert_refused(client_for(member).post(webhooks_url(board), {}, format="json"), 403)

    assert detail["code"] == "admin_required"


def test_an_outsider_does_not_see_the_board(client_for, outsider, board):
    assert_refused(client_for(outsider).post(webhooks_url(board), {}, format="json"), 404)
    assert_refused(client_for(outsider).get(webhooks_url(board)), 404)


def test_without_credentials_the_api_is_401(api_client, board, webhook):
    assert_refused(api_client.get(webhooks_url(board)), 401)
    assert_refused(api_client.get(webhook_url(webhook)), 401)


# --- read --------------------------------------------------------------------------------


def test_members_list_the_webhooks_of_a_board_in_the_envelope(client_for, member, board, webhook,
                                                              signed_webhook, other_board):
    Webhook.objects.create(board=other_board)

    body = client_for(member).get(webhooks_url(board)).json()

    assert body["total"] == 2 and body["limit"] == 200 and body["offset"] == 0
    assert {item["id"] for item in body["items"]} == {str(webhook.id), str(signed_webhook.id)}
    assert all("secret" not in item for item in body["items"])
    assert {item["has_secret"] for item in body["items"]} == {True, False}


def test_bad_paging_is_422(client_for, member, board):
    assert "limit" in assert_refused(client_for(member).get(webhooks_url(board) + "?limit=0"), 422)


def test_members_read_one_webhook(client_for, member, signed_webhook):
    body = client_for(member).get(webhook_url(signed_webhook)).json()

    assert body["id"] == str(signed_webhook.id) and body["has_secret"] is True
    assert "secret" not in body


def test_a_webhook_of_another_board_is_404(client_for, owner, board, other_board):
    foreign = Webhook.objects.create(board=other_board)

    assert_refused(client_for(owner).get(f"/api/v1/boards/{board.id}/webhooks/{foreign.id}"), 404)


# --- change and delete -------------------------------------------------------------------


def test_an_admin_changes_a_webhook_partially(client_for, admin_user, signed_webhook, worker):
    response = client_for(admin_user).patch(webhook_url(signed_webhook),
                                            {"enabled": False, "agent_id": str(worker.id)}, format="json")

    assert response.status_code == 200
    signed_webhook.refresh_from_db()
    assert signed_webhook.enabled is False and signed_webhook.agent_id == worker.id
    assert signed_webhook.secret == SECRET  # untouched
    event = ActivityEvent.objects.get(event_type="webhook.updated")
    assert event.actor_user_id == admin_user.id
    assert event.data["changed"] == ["agent", "enabled"]


def test_a_secret_can_be_replaced_and_removed_but_not_read(client_for, owner, signed_webhook):
    client = client_for(owner)

    replaced = client.patch(webhook_url(signed_webhook), {"secret": "new-secret"}, format="json")
    signed_webhook.refresh_from_db()
    assert signed_webhook.secret == "new-secret" and replaced.json()["has_secret"] is True
    assert "new-secret" not in replaced.content.decode()
    event = ActivityEvent.objects.get(event_type="webhook.updated")
    assert event.data["changed"] == ["secret"] and "new-secret" not in str(event.data)

    removed = client.patch(webhook_url(signed_webhook), {"secret": None}, format="json")
    signed_webhook.refresh_from_db()
    assert signed_webhook.secret == "" and removed.json()["has_secret"] is False


def test_a_member_cannot_change_or_delete_a_webhook(client_for, member, webhook):
    client = client_for(member)

    assert assert_refused(client.patch(webhook_url(webhook), {"enabled": False}, format="json"), 403)
    assert assert_refused(client.delete(webhook_url(webhook)), 403)
    webhook.refresh_from_db()
    assert webhook.enabled is True


def test_an_admin_deletes_a_webhook_and_its_payloads(client_for, owner, webhook, ingest_client):
    post(ingest_client, webhook, {"a": 1})

    response = client_for(owner).delete(webhook_url(webhook))

    assert response.status_code == 204
    assert not Webhook.objects.exists() and not WebhookPayload.objects.exists()
    event = ActivityEvent.objects.get(event_type="webhook.deleted")
    assert event.actor_user_id == owner.id and event.data["webhook_id"] == str(webhook.id)


def test_a_deleted_webhook_no_longer_takes_payloads(client_for, owner, webhook, ingest_client):
    client_for(owner).delete(webhook_url(webhook))

    assert post(ingest_client, webhook, {"a": 1}).status_code == 404


def test_a_session_user_must_send_the_csrf_token_to_change_a_webhook(owner, webhook):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)

    response = client.patch(webhook_url(webhook), {"enabled": False}, format="json")

    assert response.status_code == 403
    webhook.refresh_from_db()
    assert webhook.enabled is True


# --- payloads ----------------------------------------------------------------------------


def test_members_list_payloads_newest_first_with_their_deliveries(client_for, member, webhook, ingest_client,
                                                                  django_assert_max_num_queries):
    ids = [post(ingest_client, webhook, {"n": n}).json()["payload_id"] for n in range(3)]
    client = client_for(member)

    with django_assert_max_num_queries(12):
        body = client.get(webhook_url(webhook) + "/payloads?limit=2").json()

    assert body["total"] == 3 and body["limit"] == 2
    assert [item["id"] for item in body["items"]] == ids[::-1][:2]
    item = body["items"][0]
    assert item["payload"] == {"n": 2}
    assert set(item) == {"id", "board_id", "webhook_id", "payload", "headers", "source_ip", "content_type",
                         "received_at", "deliveries"}
    # The board has no lead and the webhook names no agent: nobody to deliver to yet.
    assert item["deliveries"][0]["status"] == "waiting"
    assert "the board has no lead" in item["deliveries"][0]["waiting_reason"]


def test_members_read_one_payload(client_for, member, webhook, ingest_client):
    payload_id = post(ingest_client, webhook, {"a": 1}).json()["payload_id"]

    body = client_for(member).get(webhook_url(webhook) + f"/payloads/{payload_id}").json()

    assert body["id"] == payload_id and body["payload"] == {"a": 1}
    assert body["webhook_id"] == str(webhook.id) and body["board_id"] == str(webhook.board_id)


def test_a_payload_of_another_webhook_is_404(client_for, member, webhook, signed_webhook, ingest_client):
    payload_id = post(ingest_client, webhook, {"a": 1}).json()["payload_id"]

    assert_refused(client_for(member).get(webhook_url(signed_webhook) + f"/payloads/{payload_id}"), 404)


def test_outsiders_cannot_read_payloads(client_for, outsider, webhook, ingest_client):
    payload_id = post(ingest_client, webhook, {"a": 1}).json()["payload_id"]

    assert_refused(client_for(outsider).get(webhook_url(webhook) + "/payloads"), 404)
    assert_refused(client_for(outsider).get(webhook_url(webhook) + f"/payloads/{payload_id}"), 404)
