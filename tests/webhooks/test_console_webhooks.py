"""Webhooks in the console: create (secret once), endpoint, enable/disable, payloads, replay."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agents.models import ActivityEvent
from tests.webhooks.conftest import post, signed_headers
from webhooks.models import Webhook, WebhookDelivery, WebhookPayload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]


def test_an_admin_creates_a_signed_webhook_and_sees_its_secret_once(client, owner, board, worker):
    client.force_login(owner)
    response = client.post(reverse("webhooks_console:webhooks", args=[board.pk]), {
        "description": "Triage issues.", "agent": str(worker.pk), "require_signature": "on"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    webhook = Webhook.objects.get(board=board)
    secret = response.context["secret"]
    html = response.content.decode()
    assert webhook.secret == secret and len(secret) >= 32
    assert secret in html and 'data-copy="webhook-secret"' in html
    assert f"http://localhost:8000{webhook.endpoint_path}" in html or webhook.endpoint_path in html
    assert webhook.agent == worker and webhook.description == "Triage issues."
    assert ActivityEvent.objects.filter(event_type="webhook.created", board_id=board.pk).exists()

    detail = client.get(reverse("webhooks_console:webhook", args=[board.pk, webhook.pk])).content.decode()
    assert secret not in detail
    assert 'data-copy="endpoint-url"' in detail


def test_an_unsigned_webhook_warns_that_anyone_may_post(client, owner, board):
    client.force_login(owner)
    response = client.post(reverse("webhooks_console:webhooks", args=[board.pk]), {"description": "Open door."})
    assert Webhook.objects.get(board=board).secret == ""
    assert b"accepts unsigned events" in response.content


def test_an_invalid_signature_header_is_refused_like_the_api_refuses_it(client, owner, board):
    client.force_login(owner)
    response = client.post(reverse("webhooks_console:webhooks", args=[board.pk]), {
        "description": "x", "require_signature": "on", "signature_header": "bad header!"})
    assert response.status_code == 422
    assert b"Not a valid HTTP header name" in response.content
    assert not Webhook.objects.filter(board=board).exists()


def test_the_webhook_page_shows_payloads_pretty_printed_with_their_deliveries(client, owner, board, lead,
                                                                              ingest_client):
    webhook = Webhook.objects.create(board=board, description="Signed events.", secret="s3cret-for-tests")
    body = b'{"issue": {"number": 7, "title": "Broken link"}}'
    headers = signed_headers(body)
    answer = post(ingest_client, webhook, body, headers=headers)
    assert answer.status_code == 202
    client.force_login(owner)
    html = client.get(reverse("webhooks_console:webhook", args=[board.pk, webhook.pk])).content.decode()
    assert "&quot;title&quot;: &quot;Broken link&quot;" in html
    assert '<pre class="json">' in html
    assert 'class="badge pending"' in html
    assert ">Replay delivery</button>" in html


def test_replaying_a_dead_delivery_starts_it_again(client, owner, board, lead, ingest_client):
    webhook = Webhook.objects.create(board=board)
    post(ingest_client, webhook, {"n": 1})
    payload = WebhookPayload.objects.get(webhook=webhook)
    WebhookDelivery.objects.filter(payload=payload).update(status="dead", attempts=8, last_error="gateway down")
    client.force_login(owner)
    response = client.post(reverse("webhooks_console:replay", args=[board.pk, webhook.pk, payload.pk]))
    assert response.status_code == 302
    delivery = WebhookDelivery.objects.get(payload=payload)
    assert delivery.status == "pending" and delivery.attempts == 0 and delivery.last_error == ""
    assert ActivityEvent.objects.filter(event_type="webhook.payload_redelivered").exists()


def test_a_member_reads_payloads_without_the_admin_buttons_and_cannot_replay(client, member, board, lead,
                                                                             ingest_client):
    webhook = Webhook.objects.create(board=board, description="Watched by members")
    post(ingest_client, webhook, {"n": 1})
    payload = WebhookPayload.objects.get(webhook=webhook)
    WebhookDelivery.objects.filter(payload=payload).update(status="dead", attempts=8)
    client.force_login(member)
    html = client.get(reverse("webhooks_console:webhook", args=[board.pk, webhook.pk])).content.decode()
    assert "Watched by members" in html and 'class="badge dead"' in html
    assert "Replay delivery" not in html and ">Disable</button>" not in html and "New secret" not in html
    response = client.post(reverse("webhooks_console:replay", args=[board.pk, webhook.pk, payload.pk]))
    assert response.status_code == 403
    assert b"Only an owner or admin of the organization may replay a delivery." in response.content
    assert WebhookDelivery.objects.get(payload=payload).status == "dead"


def test_disabling_a_webhook_makes_the_endpoint_answer_410(client, owner, board, ingest_client):
    webhook = Webhook.objects.create(board=board)
    client.force_login(owner)
    client.post(reverse("webhooks_console:toggle", args=[board.pk, webhook.pk]), {"enabled": "false"})
    webhook.refresh_from_db()
    assert webhook.enabled is False
    assert post(ingest_client, webhook, {"n": 1}).status_code == 410
    client.post(reverse("webhooks_console:toggle", args=[board.pk, webhook.pk]), {"enabled": "true"})
    webhook.refresh_from_db()
    assert webhook.enabled is True


def test_a_member_reads_webhooks_but_cannot_change_them(client, member, board):
    webhook = Webhook.objects.create(board=board, description="Read only for members")
    client.force_login(member)
    listing = client.get(reverse("webhooks_console:webhooks", args=[board.pk]))
    assert listing.status_code == 200 and b"Read only for members" in listing.content
    assert b"New webhook" not in listing.content
    assert client.post(reverse("webhooks_console:webhooks", args=[board.pk]), {"description": "x"}).status_code == 403
    assert client.post(reverse("webhooks_console:toggle", args=[board.pk, webhook.pk]),
                       {"enabled": "false"}).status_code == 403
    webhook.refresh_from_db()
    assert webhook.enabled is True


def test_an_outsider_gets_404_for_another_organizations_webhooks(client, outsider, board):
    webhook = Webhook.objects.create(board=board)
    client.force_login(outsider)
    assert client.get(reverse("webhooks_console:webhooks", args=[board.pk])).status_code == 404
    assert client.get(reverse("webhooks_console:webhook", args=[board.pk, webhook.pk])).status_code == 404
    assert client.post(reverse("webhooks_console:toggle", args=[board.pk, webhook.pk]),
                       {"enabled": "false"}).status_code == 404


def test_a_webhook_of_another_board_is_not_found_under_this_one(client, owner, org, board):
    from tests.conftest import make_board

    webhook = Webhook.objects.create(board=make_board(org, "Elsewhere"))
    client.force_login(owner)
    assert client.get(reverse("webhooks_console:webhook", args=[board.pk, webhook.pk])).status_code == 404


def test_the_webhook_pages_render_with_a_bounded_number_of_queries(client, owner, board, lead, ingest_client,
                                                                   django_assert_max_num_queries):
    webhook = Webhook.objects.create(board=board)
    for number in range(25):
        post(ingest_client, webhook, {"n": number}, ip=f"10.0.0.{number}")
    WebhookDelivery.objects.filter(payload__payload__n__lt=3).update(status="dead")
    client.force_login(owner)
    client.get("/")
    # One of them is the layout's organization switcher.
    with django_assert_max_num_queries(11):
        listing = client.get(reverse("webhooks_console:webhooks", args=[board.pk]))
    assert "25 payloads" in listing.content.decode() and "3 failed" in listing.content.decode()
    with django_assert_max_num_queries(11):
        assert client.get(reverse("webhooks_console:webhook", args=[board.pk, webhook.pk])).status_code == 200


def test_the_webhook_page_can_show_only_payloads_whose_delivery_failed(client, owner, board, lead, ingest_client):
    webhook = Webhook.objects.create(board=board)
    post(ingest_client, webhook, {"name": "fine"}, ip="10.0.0.1")
    post(ingest_client, webhook, {"name": "broken"}, ip="10.0.0.2")
    WebhookDelivery.objects.filter(payload__payload__name="broken").update(status="dead", last_error="gateway down")
    client.force_login(owner)
    url = reverse("webhooks_console:webhook", args=[board.pk, webhook.pk])
    everything = client.get(url).content.decode()
    assert "&quot;fine&quot;" in everything and "&quot;broken&quot;" in everything
    failing = client.get(url, {"show": "failing"}).content.decode()
    assert "&quot;broken&quot;" in failing and "&quot;fine&quot;" not in failing and "gateway down" in failing


def test_a_new_secret_is_shown_once_and_the_old_signature_stops_working(client, owner, board, lead, ingest_client):
    webhook = Webhook.objects.create(board=board, secret="s3cret-for-tests")
    body = b'{"n": 1}'
    assert post(ingest_client, webhook, body, headers=signed_headers(body)).status_code == 202
    client.force_login(owner)
    response = client.post(reverse("webhooks_console:secret", args=[board.pk, webhook.pk]))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    secret = response.context["secret"]
    assert secret in response.content.decode() and b"previous secret are refused" in response.content
    assert post(ingest_client, webhook, body, headers=signed_headers(body), ip="10.0.0.9").status_code == 403
    fresh = signed_headers(body, secret=secret)
    assert post(ingest_client, webhook, body, headers=fresh, ip="10.0.0.10").status_code == 202


def test_a_member_cannot_change_a_webhook_secret(client, member, board):
    webhook = Webhook.objects.create(board=board, secret="keep")
    client.force_login(member)
    assert client.post(reverse("webhooks_console:secret", args=[board.pk, webhook.pk])).status_code == 403
    webhook.refresh_from_db()
    assert webhook.secret == "keep"
