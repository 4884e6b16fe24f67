"""The webhook spool: what ingest does while the database is away, and the drain after it."""

from __future__ import annotations

import errno
import json
import logging
import os
import time
import uuid
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.db.utils import OperationalError
from django.utils import timezone

from ops import database_outage, probes
from tests.webhooks.conftest import SECRET, post, signed_headers
from webhooks import spool
from webhooks.models import WebhookDelivery, WebhookPayload

pytestmark = pytest.mark.django_db

DOWN = OperationalError('connection failed: connection to server at "127.0.0.1", port 5432 failed: '
                        "Connection refused")


@pytest.fixture(autouse=True)
def spool_dir(tmp_path: Path, settings):
    settings.WEBHOOK_SPOOL_DIR = tmp_path / "spool"
    spool.recent.clear()
    database_outage.outage.since = None
    # The tests drain by hand, in the test's own transaction.
    with mock.patch.object(spool.drainer, "enabled", False):
        yield settings.WEBHOOK_SPOOL_DIR
    database_outage.outage.since = None
    spool.recent.clear()


def database_down():
    """The database refuses every connection of the ingest path."""
    return mock.patch.multiple("webhooks.ingest", find_webhook=mock.Mock(side_effect=DOWN))


def storing_fails():
    return mock.patch("webhooks.ingest.store_payload", side_effect=DOWN)


def spooled_request(webhook, *, body: bytes = b'{"n": 1}', at=None, secret: str | None = None) -> spool.SpooledRequest:
    signature = signed_headers(body, secret=secret)["X-Hub-Signature-256"] if secret else None
    return spool.SpooledRequest(payload_id=uuid.uuid4(), board_id=webhook.board_id, webhook_id=webhook.id,
                                received_at=at or timezone.now(), body=body, signature=signature, headers={},
                                source_ip="203.0.113.5", content_type="application/json")


# --- ingest while the database is away -----------------------------------------------------


def test_a_recently_seen_webhook_is_answered_202_and_spooled_while_the_database_is_away(
        ingest_client, signed_webhook, spool_dir):
    body = b'{"action": "opened"}'
    assert post(ingest_client, signed_webhook, body, headers=signed_headers(body)).status_code == 202

    with database_down():
        response = post(ingest_client, signed_webhook, body, headers=signed_headers(body))

    assert response.status_code == 202
    payload_id = response.json()["payload_id"]
    [path] = spool.pending()
    record = spool.SpooledRequest.from_json(path.read_bytes())
    assert str(record.payload_id) == payload_id
    assert record.body == body and record.signature == signed_headers(body)["X-Hub-Signature-256"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert WebhookPayload.objects.count() == 1

    assert spool.drain() == spool.DrainResult(stored=1)
    stored = WebhookPayload.objects.get(pk=payload_id)
    assert stored.payload == {"action": "opened"}
    assert stored.received_at == record.received_at
    assert WebhookDelivery.objects.filter(payload=stored).count() == 1
    assert spool.pending() == []


def test_a_webhook_not_seen_recently_is_answered_503_while_the_database_is_away(ingest_client, signed_webhook):
    body = b"{}"
    with database_down():
        response = post(ingest_client, signed_webhook, body, headers=signed_headers(body))

    assert response.status_code == 503
    assert response["Retry-After"] == str(database_outage.RETRY_AFTER_SECONDS)
    assert response.json()["detail"] == spool.NOT_SEEN_RECENTLY
    assert spool.pending() == []


def test_a_webhook_seen_too_long_ago_is_not_trusted_while_the_database_is_away(ingest_client, signed_webhook):
    body = b"{}"
    post(ingest_client, signed_webhook, body, headers=signed_headers(body))
    later = time.monotonic() + spool.RECENT_WEBHOOK_SECONDS + 1
    with database_down(), mock.patch("webhooks.spool.time.monotonic", return_value=later):
        response = post(ingest_client, signed_webhook, body, headers=signed_headers(body))

    assert response.status_code == 503
    assert spool.pending() == []


def test_a_bad_signature_is_still_refused_while_the_database_is_away(ingest_client, signed_webhook):
    body = b"{}"
    post(ingest_client, signed_webhook, body, headers=signed_headers(body))
    with database_down():
        wrong = post(ingest_client, signed_webhook, body, headers=signed_headers(body, secret="not-the-secret"))
        missing = post(ingest_client, signed_webhook, body)

    assert (wrong.status_code, missing.status_code) == (403, 403)
    assert spool.pending() == []


def test_a_disabled_webhook_is_still_410_while_the_database_is_away(ingest_client, webhook):
    webhook.enabled = False
    webhook.save()
    post(ingest_client, webhook)
    with database_down():
        assert post(ingest_client, webhook).status_code == 410
    assert spool.pending() == []


def test_a_store_that_fails_is_spooled_under_the_id_it_would_have_had(ingest_client, webhook):
    with storing_fails():
        response = post(ingest_client, webhook, {"n": 1})

    assert response.status_code == 202
    [path] = spool.pending()
    assert path.name.endswith(uuid.UUID(response.json()["payload_id"]).hex + spool.SUFFIX)


def test_a_full_disk_is_503_not_a_202(ingest_client, webhook):
    post(ingest_client, webhook)

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    with database_down(), mock.patch("webhooks.spool.os.write", side_effect=full):
        response = post(ingest_client, webhook, {"n": 1})

    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json()["detail"] == spool.CANNOT_SPOOL
    assert list(Path(spool.spool_dir()).iterdir()) == []  # no partial file left behind


def test_below_the_free_space_reserve_the_spool_refuses(ingest_client, webhook):
    post(ingest_client, webhook)
    usage = mock.Mock(free=spool.MIN_FREE_BYTES - 1)
    with database_down(), mock.patch("webhooks.spool.shutil.disk_usage", return_value=usage):
        response = post(ingest_client, webhook, {"n": 1})

    assert response.status_code == 503
    assert spool.pending() == []


# --- writing -------------------------------------------------------------------------------


def test_a_spool_file_is_fsynced_before_its_rename_and_the_folder_after_it(webhook, spool_dir):
    calls: list[str] = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd):
        calls.append("fsync-dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "fsync-file")
        real_fsync(fd)

    def rename(source, target):
        calls.append("rename")
        real_rename(source, target)

    with mock.patch("webhooks.spool.os.fsync", side_effect=fsync), \
            mock.patch("webhooks.spool.os.rename", side_effect=rename):
        path = spool.write(spooled_request(webhook))

    assert calls == ["fsync-file", "rename", "fsync-dir"]
    assert path.exists() and path.parent == spool_dir


# --- draining ------------------------------------------------------------------------------


def test_the_drain_stores_in_arrival_order(webhook):
    start = timezone.now() - timedelta(minutes=1)
    ids = []
    # Written out of order; the names carry the arrival time.
    for offset in (3, 1, 2, 0):
        spooled = spooled_request(webhook, body=json.dumps({"n": offset}).encode(), at=start + timedelta(seconds=offset))
        spool.write(spooled)
        ids.append((offset, spooled.payload_id))
    stored_order = []
    real = spool.store_payload

    def recording(webhook, organization_id, incoming, **kwargs):
        stored_order.append(incoming.payload["n"])
        return real(webhook, organization_id, incoming, **kwargs)

    with mock.patch("webhooks.spool.store_payload", side_effect=recording):
        assert spool.drain() == spool.DrainResult(stored=4)

    assert stored_order == [0, 1, 2, 3]
    for offset, payload_id in ids:
        assert WebhookPayload.objects.get(pk=payload_id).received_at == start + timedelta(seconds=offset)


def test_a_file_whose_payload_is_already_stored_is_removed_without_storing_it_again(webhook):
    spooled = spooled_request(webhook)
    spool.write(spooled)
    assert spool.drain() == spool.DrainResult(stored=1)
    # A drain that died after its commit and before removing the file leaves it behind.
    spool.write(spooled)

    assert spool.drain() == spool.DrainResult(already_stored=1)
    assert WebhookPayload.objects.filter(pk=spooled.payload_id).count() == 1
    assert WebhookDelivery.objects.count() == 1
    assert spool.pending() == []


def test_a_corrupt_file_is_set_aside_and_the_rest_drains(webhook, spool_dir, caplog):
    good = spooled_request(webhook)
    spool.write(good)
    broken = spool_dir / ("00000000000000001-" + uuid.uuid4().hex + spool.SUFFIX)
    broken.write_bytes(b'{"format": 1, "payload_id": "')

    with caplog.at_level(logging.WARNING, logger="webhooks.spool"):
        result = spool.drain()

    assert result == spool.DrainResult(stored=1, rejected=1)
    assert (spool_dir / spool.REJECTED / broken.name).exists()
    assert WebhookPayload.objects.filter(pk=good.payload_id).exists()
    assert any(broken.name in record.getMessage() for record in caplog.records)
    check = spool.check_spool()
    assert check["ok"] is False and check["rejected"] == 1 and check["depth"] == 0


def test_a_partial_file_is_never_drained_and_an_old_one_is_removed(webhook, spool_dir):
    spool_dir.mkdir(parents=True)
    fresh = spool_dir / ("00000000000000001-" + uuid.uuid4().hex + spool.SUFFIX + spool.PARTIAL_SUFFIX)
    old = spool_dir / ("00000000000000002-" + uuid.uuid4().hex + spool.SUFFIX + spool.PARTIAL_SUFFIX)
    fresh.write_bytes(b"{")
    old.write_bytes(b"{")
    long_ago = time.time() - spool.PARTIAL_MAX_AGE_SECONDS - 10
    os.utime(old, (long_ago, long_ago))

    assert spool.pending() == []
    assert spool.drain() == spool.DrainResult()
    assert fresh.exists() and not old.exists()
    assert WebhookPayload.objects.count() == 0


def test_a_spooled_request_whose_signature_no_longer_matches_is_set_aside(signed_webhook, spool_dir):
    spool.write(spooled_request(signed_webhook, secret=SECRET))
    signed_webhook.secret = "rotated-before-the-outage"
    signed_webhook.save()

    assert spool.drain() == spool.DrainResult(rejected=1)
    assert WebhookPayload.objects.count() == 0
    assert len(spool.rejected()) == 1


def test_a_spooled_request_of_a_deleted_webhook_is_set_aside(webhook):
    spool.write(spooled_request(webhook))
    webhook.delete()

    assert spool.drain() == spool.DrainResult(rejected=1)


def test_a_drain_stopped_by_the_database_keeps_what_it_did_not_store(webhook):
    first, second = spooled_request(webhook), spooled_request(webhook, at=timezone.now() + timedelta(seconds=1))
    spool.write(first)
    spool.write(second)
    real = spool.store_payload
    calls = []

    def once_then_down(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise DOWN
        return real(*args, **kwargs)

    with mock.patch("webhooks.spool.store_payload", side_effect=once_then_down), pytest.raises(OperationalError):
        spool.drain()

    assert WebhookPayload.objects.filter(pk=first.payload_id).exists()
    [left] = spool.pending()
    assert second.payload_id.hex in left.name
    assert spool.drain() == spool.DrainResult(stored=1)


def test_a_file_that_fails_to_store_for_another_reason_is_set_aside_and_the_rest_drains(webhook, caplog):
    broken, good = spooled_request(webhook), spooled_request(webhook, at=timezone.now() + timedelta(seconds=1))
    spool.write(broken)
    spool.write(good)
    real = spool.store_payload

    def fails_once(hook, organization_id, incoming, **kwargs):
        if incoming.payload_id == broken.payload_id:
            raise ValueError("a bug")
        return real(hook, organization_id, incoming, **kwargs)

    with mock.patch("webhooks.spool.store_payload", side_effect=fails_once):
        assert spool.drain() == spool.DrainResult(stored=1, rejected=1)

    assert [path.name for path in spool.rejected()] == [broken.file_name]
    assert WebhookPayload.objects.filter(pk=good.payload_id).exists()


def test_only_one_drain_at_a_time_per_folder(webhook, spool_dir):
    spool.write(spooled_request(webhook))
    with spool._drain_lock(spool_dir) as locked:
        assert locked
        assert spool.drain() is None
    assert spool.drain() == spool.DrainResult(stored=1)


# --- readiness and the log -------------------------------------------------------------------


def test_readiness_shows_the_spool_depth_as_degraded(webhook):
    spool.write(spooled_request(webhook))
    probes.forget_cached_answers()

    report = probes.readiness()

    check = report["checks"]["webhook_spool"]
    assert check["ok"] is False and check["status"] == "degraded"
    assert check["depth"] == 1 and check["oldest_age_seconds"] >= 0
    assert report["ok"] is True


def test_an_outage_writes_one_line_when_it_starts_and_one_when_it_ends(ingest_client, webhook, caplog):
    post(ingest_client, webhook)
    with caplog.at_level(logging.INFO, logger="ops.database"), database_down():
        for _ in range(5):
            assert post(ingest_client, webhook, {"n": 1}).status_code == 202
    database_outage.connection_created(sender=None)
    database_outage.connection_created(sender=None)

    lines = [record for record in caplog.records if record.name == "ops.database"]
    assert [record.levelname for record in lines] == ["WARNING", "INFO"]
    assert "5 webhook request(s) spooled" in lines[1].getMessage()



@pytest.mark.usefixtures("console_static")
def test_the_operations_page_shows_the_spool_depth(client, member, webhook):
    spool.write(spooled_request(webhook))
    spool.write(spooled_request(webhook, at=timezone.now() + timedelta(seconds=1)))
    client.force_login(member)

    html = client.get("/operations/").content.decode()

    assert "<strong>Webhook spool</strong>" in html
    assert "2 webhook request(s) accepted while the database was away" in html
    assert '<span class="muted">Depth:</span> 2' in html
    assert '<span class="muted">Oldest:</span> ' in html and " s ago" in html
