"""The operations page: readiness in words, rate limits, the worker and the last backup."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("ops_console:operations"))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_page_shows_each_readiness_check_the_rate_limits_and_the_worker(client, member):
    client.force_login(member)
    html = client.get(reverse("ops_console:operations")).content.decode()
    for title in ("Database", "Migrations", "Caches", "Background worker"):
        assert f"<strong>{title}</strong>" in html
    assert "Backend: <strong>memory</strong>" in html
    assert "console_login" in html and "webhook_ingest" in html
    assert "Jobs waiting" in html and "no job waiting" in html


def test_without_a_backup_the_page_says_how_to_make_one(client, member, settings, tmp_path):
    settings.BACKUP_STATE_FILE = tmp_path / "none.json"
    client.force_login(member)
    html = client.get(reverse("ops_console:operations")).content.decode()
    assert "No backup recorded." in html and "manage.py backup" in html


def test_the_last_backup_is_shown_with_its_time_and_file(client, member, settings, tmp_path):
    state = tmp_path / "last-backup.json"
    from ops.backups.state import database_identity
    from ops.backups.target import target_for

    state.write_text(json.dumps({"created_at": "2026-01-02T03:04:05+00:00", "path": "/backups/mc-1.dump",
                                 "size": 2048, "database": database_identity(target_for())}))
    settings.BACKUP_STATE_FILE = state
    client.force_login(member)
    html = client.get(reverse("ops_console:operations")).content.decode()
    assert "/backups/mc-1.dump" in html and 'datetime="2026-01-02T03:04:05+00:00"' in html
    assert "2.0\xa0KB" in html


def test_a_failing_check_is_shown_with_its_error(client, member, monkeypatch):
    from ops import probes

    monkeypatch.setattr(probes, "readiness", lambda: {"ok": False, "checks": {
        "database": {"ok": True, "status": "ok"},
        "worker": {"ok": False, "status": "degraded", "error": "A job has waited 300s",
                   "ready_jobs": 4, "oldest_ready_job_age_seconds": 300.0}}})
    client.force_login(member)
    html = client.get(reverse("ops_console:operations")).content.decode()
    assert "Not ready" in html and "A job has waited 300s" in html and "Behind" in html
