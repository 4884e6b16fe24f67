from __future__ import annotations

import json
import logging
import subprocess
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from ops import probes, throttle
from tests.ops import servers

CLOSED_PORT = servers.port(18190)  # nothing listens here: a dead Redis or Postgres


@pytest.fixture(autouse=True)
def fresh_probe_state():
    probes.forget_cached_answers()
    yield
    probes.forget_cached_answers()


def test_healthz_answers_ok_without_touching_anything(client):
    # No django_db mark: any database access here would make the test error out.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_is_200_with_every_check_when_all_is_well(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert {"database", "migrations", "cache", "worker"} <= body["checks"].keys()
    for name in ("database", "migrations", "cache", "worker"):
        assert body["checks"][name]["ok"] is True, body["checks"][name]
        assert body["checks"][name]["status"] == "ok"
    assert body["checks"]["migrations"]["pending"] == 0
    assert body["checks"]["cache"]["caches"]["ratelimit"]["ok"] is True


@pytest.mark.django_db
def test_readiness_is_callable_as_a_function_for_the_console():
    report = probes.readiness()
    assert report["ok"] is True
    assert report["checks"]["database"]["vendor"] in ("sqlite", "postgresql")


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_does_not_answer(client, monkeypatch):
    from django.db import connections

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "cursor", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["checks"]["database"] == {"ok": False, "status": "failing", "error": "connection refused",
                                          "vendor": body["checks"]["database"]["vendor"]}
    assert body["checks"]["migrations"]["error"] == "Skipped: the database does not answer."
    assert body["checks"]["worker"]["status"] == "degraded"


def run_readyz_in_subprocess(database_url: str) -> tuple[int, dict]:
    code = ("import django, json; django.setup()\n"
            "from django.test import Client\n"
            "r = Client().get('/readyz'); print(r.status_code); print(r.content.decode())")
    result = subprocess.run(
        [servers.PYTHON, "-c", code], cwd=servers.REPO, capture_output=True, text=True, timeout=60,
        env=servers.clean_env({"DJANGO_SETTINGS_MODULE": "missioncontrol.settings", "DATABASE_URL": database_url,
                               "LOG_LEVEL": "CRITICAL"}),
    )
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().split("\n", 1)
    return int(status), json.loads(body)


def test_readyz_is_503_when_postgres_is_unreachable():
    status, body = run_readyz_in_subprocess(f"postgres://postgres@127.0.0.1:{CLOSED_PORT}/nothing")
    assert status == 503
    assert body["ok"] is False
    assert body["checks"]["database"]["ok"] is False
    assert "refused" in body["checks"]["database"]["error"].lower()


def test_readyz_is_503_when_migrations_are_pending(tmp_path):
    status, body = run_readyz_in_subprocess(f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}")
    assert status == 503
    assert body["checks"]["database"]["ok"] is True
    migrations = body["checks"]["migrations"]
    assert migrations["ok"] is False and migrations["status"] == "failing"
    assert migrations["pending"] > 0
    assert "contenttypes.0001_initial" in migrations["migrations"]
    assert migrations["error"].endswith("run manage.py migrate.")


@pytest.mark.django_db
def test_a_dead_rate_limit_redis_is_degraded_not_failing(client, settings):
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": f"redis://127.0.0.1:{CLOSED_PORT}/0",
                      "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}},
    }
    response = client.get("/readyz")
    assert response.status_code == 200
    cache = response.json()["checks"]["cache"]
    assert cache["ok"] is False and cache["status"] == "degraded"
    assert cache["error"].startswith("ratelimit: ")
    assert cache["caches"]["ratelimit"]["backend"] == "redis"
    assert cache["caches"]["default"]["ok"] is True


@pytest.mark.django_db
def test_a_live_redis_cache_is_reported_ok(client, settings, redis_url):
    redis_cache = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url,
                   "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}}
    settings.CACHES = {"default": redis_cache, "ratelimit": redis_cache}
    cache = client.get("/readyz").json()["checks"]["cache"]
    assert cache["ok"] is True
    assert cache["caches"]["ratelimit"] == {"ok": True, "backend": "redis", "rate_limits_fail_open": False}


@pytest.mark.django_db
def test_rate_limits_failing_open_show_as_degraded(client, monkeypatch):
    monkeypatch.setattr(throttle.outage, "failing", True)
    monkeypatch.setattr(throttle.outage, "last_error", "ConnectionError: gone")
    response = client.get("/readyz")
    assert response.status_code == 200
    cache = response.json()["checks"]["cache"]
    assert cache["status"] == "degraded"
    assert "rate limits are not enforced" in cache["error"]


def make_job(**fields):
    from django_tasks_db.models import DBTaskResult, get_date_max

    job = DBTaskResult.objects.create(args_kwargs={"args": [], "kwargs": {}}, task_path="ops.tests.nothing",
                                      backend_name="default", run_after=fields.pop("run_after", get_date_max()),
                                      **fields)
    if "enqueued_at" in fields:
        DBTaskResult.objects.filter(pk=job.pk).update(enqueued_at=fields["enqueued_at"])
    return job


def beating_worker(worker_id: str = "w-1"):
    from ops.models import WorkerHeartbeat

    now = timezone.now()
    return WorkerHeartbeat.objects.create(worker_id=worker_id, hostname="app-1", pid=4242, started_at=now,
                                          last_beat_at=now)


@pytest.mark.django_db
def test_the_worker_check_reports_last_activity_and_the_oldest_waiting_job(client):
    beating_worker()
    now = timezone.now()
    make_job(status="SUCCESSFUL", started_at=now - timedelta(seconds=50), finished_at=now - timedelta(seconds=40))
    make_job(status="READY", enqueued_at=now - timedelta(seconds=30))
    worker = client.get("/readyz").json()["checks"]["worker"]
    assert worker["ok"] is True
    assert 39 <= worker["last_activity_age_seconds"] <= 45
    assert 29 <= worker["oldest_ready_job_age_seconds"] <= 35
    assert worker["ready_jobs"] == 1


@pytest.mark.django_db
def test_a_job_waiting_too_long_makes_the_worker_degraded_but_the_probe_stays_up(client, settings):
    settings.WORKER_HEARTBEAT_STALE_SECONDS = 60
    make_job(status="READY", enqueued_at=timezone.now() - timedelta(seconds=600))
    response = client.get("/readyz")
    assert response.status_code == 200
    worker = response.json()["checks"]["worker"]
    assert worker["ok"] is False and worker["status"] == "degraded"
    assert "db_worker" in worker["error"]


@pytest.mark.django_db
def test_a_retry_scheduled_for_later_is_not_counted_as_waiting(client, settings):
    settings.WORKER_HEARTBEAT_STALE_SECONDS = 60
    beating_worker()
    now = timezone.now()
    make_job(status="READY", enqueued_at=now - timedelta(hours=2), run_after=now + timedelta(minutes=5))
    make_job(status="READY", enqueued_at=now - timedelta(hours=2), run_after=now - timedelta(seconds=10))
    worker = client.get("/readyz").json()["checks"]["worker"]
    assert worker["ok"] is True
    assert 9 <= worker["oldest_ready_job_age_seconds"] <= 15


@pytest.mark.django_db
def test_jobs_waiting_with_no_live_worker_make_the_worker_degraded_but_the_probe_stays_up(client, settings):
    settings.WORKER_HEARTBEAT_STALE_SECONDS = 600
    make_job(status="READY", enqueued_at=timezone.now() - timedelta(seconds=5))

    response = client.get("/readyz")

    assert response.status_code == 200 and response.json()["ok"] is True
    worker = response.json()["checks"]["worker"]
    assert worker["ok"] is False and worker["status"] == "degraded"
    assert worker["live_workers"] == 0 and worker["ready_jobs"] == 1
    assert "no worker has a heartbeat" in worker["error"]


@pytest.mark.django_db
def test_a_worker_whose_heartbeat_stopped_does_not_count_as_live(client, settings):
    from ops.models import WorkerHeartbeat

    settings.WORKER_HEARTBEAT_STALE_SECONDS = 600
    long_ago = timezone.now() - timedelta(hours=1)
    WorkerHeartbeat.objects.create(worker_id="gone", started_at=long_ago, last_beat_at=long_ago)
    make_job(status="READY", enqueued_at=timezone.now() - timedelta(seconds=5))

    worker = client.get("/readyz").json()["checks"]["worker"]

    assert worker["status"] == "degraded" and worker["live_workers"] == 0


@pytest.mark.django_db
def test_waiting_jobs_with_a_live_worker_are_fine(client, settings):
    settings.WORKER_HEARTBEAT_STALE_SECONDS = 600
    beating_worker()
    make_job(status="READY", enqueued_at=timezone.now() - timedelta(seconds=5))

    worker = client.get("/readyz").json()["checks"]["worker"]

    assert worker["ok"] is True and worker["status"] == "ok" and worker["live_workers"] == 1


@pytest.mark.django_db
def test_no_worker_and_nothing_waiting_is_fine(client):
    worker = client.get("/readyz").json()["checks"]["worker"]

    assert worker["ok"] is True and worker["live_workers"] == 0 and worker["ready_jobs"] == 0


@pytest.mark.django_db
def test_registered_informational_checks_show_but_do_not_fail_the_probe(client, extra_check):
    extra_check("backup", lambda: {"ok": False, "error": "No backup yet.", "last_success_at": None})
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["backup"] == {"ok": False, "status": "degraded", "error": "No backup yet.",
                                                   "last_success_at": None}


@pytest.mark.django_db
def test_a_failing_required_check_fails_the_probe(client, extra_check):
    extra_check("disk", lambda: {"ok": False, "error": "Disk full."}, required=True)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["disk"]["status"] == "failing"


@pytest.mark.django_db
def test_a_check_that_raises_is_reported_not_propagated(client, extra_check):
    def broken():
        raise ValueError("bad\nthing")

    extra_check("broken", broken)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["broken"] == {"ok": False, "status": "degraded", "error": "bad thing"}


@pytest.mark.django_db
def test_the_no_pending_migrations_answer_is_cached_briefly(client):
    client.get("/readyz")
    from unittest import mock

    with mock.patch("django.db.migrations.executor.MigrationExecutor") as executor:
        client.get("/readyz")
    executor.assert_not_called()


def test_probes_are_json_even_for_wrong_methods(client):
    response = client.delete("/readyz")
    assert response.status_code == 405
    assert response.json()["detail"] == "Method not allowed; use GET."


@pytest.mark.parametrize(("method", "path"), [("post", "/healthz"), ("delete", "/readyz"), ("put", "/healthz"),
                                              ("post", "/readyz")])
def test_writes_to_a_probe_are_405_in_the_envelope_even_with_csrf_checks(method, path):
    from django.test import Client

    # A real server enforces CSRF; without the exemption this was a 403 "CSRF cookie not set".
    response = getattr(Client(enforce_csrf_checks=True), method)(path)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    body = response.json()
    assert body["detail"] == "Method not allowed; use GET." and body["request_id"] == response["X-Request-ID"]


def wsgi_call(method: str, path: str) -> tuple[str, dict[str, str], bytes]:
    """The response as a WSGI server receives it (the test client drops HEAD bodies itself)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.client import RequestFactory

    environ = RequestFactory()._base_environ(PATH_INFO=path, REQUEST_METHOD=method)
    seen: dict[str, object] = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(headers)

    chunks = WSGIHandler()(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return str(seen["status"]), seen["headers"], body  # type: ignore[return-value]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_head_on_a_probe_sends_no_body(path):
    status, headers, body = wsgi_call("HEAD", path)
    assert status.startswith("200")
    assert body == b""
    assert headers["Content-Type"] == "application/json"


@pytest.mark.django_db(transaction=True)
def test_get_on_a_probe_still_sends_its_body():
    status, _headers, body = wsgi_call("GET", "/healthz")
    assert status.startswith("200") and json.loads(body) == {"ok": True}


@pytest.fixture
def manifest_storage(settings, tmp_path):
    """The production storage over an empty STATIC_ROOT, as before any collectstatic."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    return tmp_path


@pytest.mark.django_db
def test_a_missing_static_manifest_is_degraded_with_the_fix_named(client, manifest_storage):
    response = client.get("/readyz")
    assert response.status_code == 200
    static = response.json()["checks"]["static"]
    assert static["ok"] is False and static["status"] == "degraded"
    assert "run manage.py collectstatic" in static["error"]


@pytest.mark.django_db
def test_a_collected_static_manifest_is_ok(client, manifest_storage):
    (manifest_storage / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    static = client.get("/readyz").json()["checks"]["static"]
    assert static == {"ok": True, "status": "ok", "manifest": True}


@pytest.mark.django_db
def test_a_storage_without_a_manifest_needs_none(client, console_static):
    static = client.get("/readyz").json()["checks"]["static"]
    assert static == {"ok": True, "status": "ok", "manifest": False}


def test_server_start_warns_once_when_the_static_manifest_is_missing(manifest_storage, caplog):
    from ops import startup

    with caplog.at_level(logging.WARNING, logger="ops.startup"):
        startup.warn_about_static_files()
    (record,) = [r for r in caplog.records if r.name == "ops.startup"]
    assert record.levelno == logging.WARNING and "collectstatic" in record.getMessage()


def test_server_start_is_quiet_when_the_static_manifest_exists(manifest_storage, caplog):
    from ops import startup

    (manifest_storage / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    with caplog.at_level(logging.WARNING, logger="ops.startup"):
        startup.warn_about_static_files()
    assert not [r for r in caplog.records if r.name == "ops.startup"]
