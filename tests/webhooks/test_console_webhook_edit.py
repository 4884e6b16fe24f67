"""A webhook is changed and deleted in the console through the services and the write
serializer the API uses: same checks, same events."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from agents.models import ActivityEvent
from tests.webhooks.conftest import SECRET
from webhooks.models import Webhook, WebhookPayload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]


def edit_url(webhook) -> str:
    return reverse("webhooks_console:edit", args=[webhook.board_id, webhook.pk])


def test_the_edit_form_shows_the_webhook_as_it_is(client, owner, signed_webhook):
    signed_webhook.signature_header = "X-Signature"
    signed_webhook.save()
    client.force_login(owner)
    html = client.get(edit_url(signed_webhook)).content.decode()
    assert "Signed events.</textarea>" in html
    assert 'value="X-Signature"' in html
    checkbox = re.search(r'<input type="checkbox" name="require_signature"[^>]*>', html)
    assert checkbox is not None and " checked" in checkbox.group(0)
    assert SECRET not in html


def test_an_admin_changes_the_instruction_target_and_header(client, owner, signed_webhook, worker):
    client.force_login(owner)
    response = client.post(edit_url(signed_webhook), {
        "description": "Triage pushes to main.", "agent": str(worker.pk), "require_signature": "on",
        "signature_header": "X-Signature"})
    assert response.status_code == 302
    signed_webhook.refresh_from_db()
    assert (signed_webhook.description, signed_webhook.agent, signed_webhook.signature_header) == (
        "Triage pushes to main.", worker, "X-Signature")
    assert signed_webhook.secret == SECRET  # kept: only a new-secret request replaces it
    event = ActivityEvent.objects.get(event_type="webhook.updated")
    assert event.data["changed"] == ["agent", "description", "signature_header"]


def test_unticking_the_signature_removes_the_secret_and_ticking_it_shows_a_new_one_once(client, owner,
                                                                                       signed_webhook):
    client.force_login(owner)
    client.post(edit_url(signed_webhook), {"description": "Signed events."})
    signed_webhook.refresh_from_db()
    assert signed_webhook.secret == ""

    response = client.post(edit_url(signed_webhook), {"description": "Signed events.", "require_signature": "on"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    signed_webhook.refresh_from_db()
    assert len(signed_webhook.secret) >= 32 and signed_webhook.secret in response.content.decode()


def test_a_bad_header_is_refused_on_its_field_and_nothing_changes(client, owner, signed_webhook):
    client.force_login(owner)
    response = client.post(edit_url(signed_webhook), {"description": "Changed.", "require_signature": "on",
                                                      "signature_header": "Bad header!"})
    assert response.status_code == 422
    assert "Not a valid HTTP header name" in response.content.decode()
    signed_webhook.refresh_from_db()
    assert signed_webhook.description == "Signed events."


def test_an_agent_of_another_board_cannot_be_the_target(client, owner, signed_webhook, foreign_agent):
    client.force_login(owner)
    response = client.post(edit_url(signed_webhook), {"description": "x", "agent": str(foreign_agent.pk),
                                                      "require_signature": "on"})
    assert response.status_code == 422
    signed_webhook.refresh_from_db()
    assert signed_webhook.agent is None


def test_members_may_neither_change_nor_delete_a_webhook(client, member, signed_webhook):
    client.force_login(member)
    assert client.get(edit_url(signed_webhook)).status_code == 403
    assert client.post(edit_url(signed_webhook), {"description": "Hijacked."}).status_code == 403
    response = client.post(reverse("webhooks_console:delete", args=[signed_webhook.board_id, signed_webhook.pk]),
                           {"confirm": "delete"})
    assert response.status_code == 403
    signed_webhook.refresh_from_db()
    assert signed_webhook.description == "Signed events."


def test_deleting_needs_the_confirmation_and_takes_the_payloads_along(client, owner, webhook):
    WebhookPayload.objects.create(webhook=webhook, board=webhook.board, payload={"a": 1})
    client.force_login(owner)
    url = reverse("webhooks_console:delete", args=[webhook.board_id, webhook.pk])
    refused = client.post(url, {})
    assert refused.status_code == 302 and Webhook.objects.filter(pk=webhook.pk).exists()
    done = client.post(url, {"confirm": "delete"})
    assert done.status_code == 302 and done["Location"] == reverse("webhooks_console:webhooks",
                                                                   args=[webhook.board_id])
    assert not Webhook.objects.filter(pk=webhook.pk).exists()
    assert not WebhookPayload.objects.filter(webhook_id=webhook.pk).exists()
    assert ActivityEvent.objects.filter(event_type="webhook.deleted", board_id=webhook.board_id).exists()


def test_the_webhook_page_offers_edit_and_delete_to_admins_only(client, owner, member, webhook):
    url = reverse("webhooks_console:webhook", args=[webhook.board_id, webhook.pk])
    client.force_login(owner)
    html = client.get(url).content.decode()
    assert edit_url(webhook) in html and ">Delete webhook</button>" in html
    client.force_login(member)
    html = client.get(url).content.decode()
    assert edit_url(webhook) not in html and "Delete webhook" not in html
