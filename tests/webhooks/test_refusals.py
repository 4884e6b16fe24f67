"""Refused webhook requests are counted and the last few kept, per webhook, without a
database write; the console's webhook page lists them."""

from __future__ import annotations

import re

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import clear_cache
from tests.webhooks.conftest import post, signed_headers
from webhooks import refusals
from webhooks.models import Webhook

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]


@pytest.fixture(autouse=True)
def empty_cache():
    clear_cache(caches["default"])
    yield
    clear_cache(caches["default"])


def test_each_kind_of_refusal_is_counted_for_its_webhook(ingest_client, signed_webhook, webhook, settings):
    settings.WEBHOOK_MAX_PAYLOAD_BYTES = 100
    assert post(ingest_client, signed_webhook, {"a": 1}).status_code == 403
    assert post(ingest_client, signed_webhook, {"a": 1}, headers={"X-Hub-Signature-256": "sha256=00"}).status_code == 403
    assert post(ingest_client, signed_webhook, {"a": 1}, headers={"X-Hub-Signature-256": "sha256=00"}).status_code == 403
    assert post(ingest_client, signed_webhook, b"x" * 101, content_type="text/plain").status_code == 413
    Webhook.objects.filter(pk=webhook.pk).update(enabled=False)
    assert post(ingest_client, webhook, {"a": 1}, headers={"User-Agent": "GitHub-Hookshot/1"}).status_code == 410

    log = refusals.log_for(signed_webhook.pk)
    assert log.counts == {"signature_missing": 1, "signature_invalid": 2, "too_large": 1, "disabled": 0}
    assert log.total == 4 and log.since is not None
    assert [r.reason for r in log.recent] == ["too_large", "signature_invalid", "signature_invalid",
                                              "signature_missing"]
    assert log.recent[0].content_length == 101 and log.recent[0].source_ip == "127.0.0.1"
    other = refusals.log_for(webhook.pk)
    assert other.counts["disabled"] == 1 and other.recent[0].user_agent == "GitHub-Hookshot/1"


def test_an_accepted_request_leaves_the_log_alone(ingest_client, signed_webhook):
    body = b'{"ok": true}'
    assert post(ingest_client, signed_webhook, body, headers=signed_headers(body)).status_code == 202
    log = refusals.log_for(signed_webhook.pk)
    assert log.total == 0 and log.recent == [] and log.since is None


def test_a_refusal_writes_nothing_to_the_database(ingest_client, signed_webhook):
    with CaptureQueriesContext(connection) as queries:
        assert post(ingest_client, signed_webhook, {"a": 1}).status_code == 403
    writes = [q["sql"] for q in queries.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []


def test_the_recent_list_keeps_only_the_last_few(ingest_client, signed_webhook, monkeypatch):
    monkeypatch.setattr(refusals, "RECENT", 3)
    for _ in range(5):
        post(ingest_client, signed_webhook, {"a": 1})
    log = refusals.log_for(signed_webhook.pk)
    assert log.counts["signature_missing"] == 5 and len(log.recent) == 3


def test_a_cache_that_fails_costs_the_log_not_the_answer(ingest_client, signed_webhook, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache away")

    monkeypatch.setattr(refusals.cache, "add", broken)
    monkeypatch.setattr(refusals.cache, "get_many", broken)
    response = post(ingest_client, signed_webhook, {"a": 1})
    assert response.status_code == 403 and response.json()["detail"] == "Missing webhook signature header."
    assert refusals.log_for(signed_webhook.pk).total == 0


def test_the_webhook_page_counts_and_lists_what_was_refused(client, ingest_client, owner, signed_webhook):
    post(ingest_client, signed_webhook, {"a": 1}, headers={"X-Hub-Signature-256": "sha256=00",
                                                           "User-Agent": "curl/8.0"})
    post(ingest_client, signed_webhook, {"a": 1})
    client.force_login(owner)
    html = client.get(reverse("webhooks_console:webhook", args=[signed_webhook.board_id, signed_webhook.pk])
                      ).content.decode()
    section = re.search(r'<section class="card" id="refused".*?</section>', html, re.S)
    assert section is not None
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section.group(0)))
    assert "Refused requests 2" in text
    assert "Wrong signature 1" in text and "No signature 1" in text and "Body too large 0" in text
    assert "curl/8.0" in text and "127.0.0.1" in text


def test_deleting_a_webhook_drops_its_log(client, ingest_client, owner, signed_webhook,
                                          django_capture_on_commit_callbacks):
    post(ingest_client, signed_webhook, {"a": 1})
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("webhooks_console:delete", args=[signed_webhook.board_id, signed_webhook.pk]),
                    {"confirm": "delete"})
    assert not Webhook.objects.filter(pk=signed_webhook.pk).exists()
    assert refusals.log_for(signed_webhook.pk).total == 0
