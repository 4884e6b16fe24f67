"""Jobs left RUNNING by a worker that is gone go back to the queue, judged by the worker's
heartbeat (not by how long the job has run), and /readyz shows them until then."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from ops.models import WorkerHeartbeat
from ops.worker import ResilientWorker, reap_jobs_of_gone_workers
from tests.ops import servers


def running_job(worker_id: str, started_minutes_ago: float = 1) -> DBTaskResult:
    return DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}}, task_path="ops.tests.nothing", backend_name="default",
        run_after=get_date_max(), status="RUNNING", worker_ids=[worker_id],
        started_at=timezone.now() - timedelta(minutes=started_minutes_ago))


def heartbeat(worker_id: str, seconds_ago: float) -> None:
    moment = timezone.now() - timedelta(seconds=seconds_ago)
    WorkerHeartbeat.objects.create(worker_id=worker_id, started_at=moment, last_beat_at=moment)


@pytest.mark.django_db
def test_a_job_of_a_worker_without_a_heartbeat_goes_back_to_the_queue(settings):
    settings.WORKER_GONE_AFTER_SECONDS = 30
    heartbeat("gone", seconds_ago=31)
    abandoned = running_job("gone")
    never_beat = running_job("unknown")
    assert reap_jobs_of_gone_workers() == 2
    for job in (abandoned, never_beat):
        job.refresh_from_db()
        assert job.status == "READY" and job.started_at is None


@pytest.mark.django_db
def test_a_long_job_of_a_live_worker_is_left_alone(settings):
    settings.WORKER_GONE_AFTER_SECONDS = 30
    heartbeat("alive", seconds_ago=2)
    job = running_job("alive", started_minutes_ago=600)
    assert reap_jobs_of_gone_workers() == 0
    job.refresh_from_db()
    assert job.status == "RUNNING"


@pytest.mark.django_db
def test_a_job_that_finished_or_was_claimed_again_meanwhile_is_not_returned(settings, monkeypatch):
    from ops import worker

    heartbeat("gone", seconds_ago=300)
    job = running_job("gone")
    seen = worker.jobs_of_gone_workers()
    # Between the look and the update, another worker's reaper returned it and a live worker took it.
    DBTaskResult.objects.filter(pk=job.pk).update(started_at=timezone.now(), worker_ids=["gone", "alive"])
    monkeypatch.setattr(worker, "jobs_of_gone_workers", lambda now=None: seen)
    assert reap_jobs_of_gone_workers() == 0
    job.refresh_from_db()
    assert job.status == "RUNNING"


@pytest.mark.django_db
def test_a_worker_returns_gone_workers_jobs_when_it_starts(settings):
    settings.WORKER_GONE_AFTER_SECONDS = 30
    job = running_job("killed-before-this-start")
    worker = ResilientWorker(queue_names=["default"], interval=0, batch=True, backend_name="default",
                             startup_delay=False, max_tasks=None, worker_id="fresh", excluded_queue_names=[])
    worker.reap_if_due()
    job.refresh_from_db()
    assert job.status == "READY"
    assert WorkerHeartbeat.objects.filter(pk="fresh").exists()


@pytest.mark.django_db
def test_readyz_reports_jobs_stuck_with_a_gone_worker(client, settings):
    settings.WORKER_GONE_AFTER_SECONDS = 30
    heartbeat("alive", seconds_ago=1)
    heartbeat("gone", seconds_ago=120)
    running_job("alive")
    running_job("gone")
    worker = client.get("/readyz").json()["checks"]["worker"]
    assert worker["ok"] is False and worker["status"] == "degraded"
    assert worker["stuck_jobs"] == 1 and worker["live_workers"] == 1
    assert "1 job(s) left running by a worker that is gone" in worker["error"]


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([servers.PYTHON, "manage.py", *args], cwd=servers.REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def start_worker(env: dict[str, str], log: Path, worker_id: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen([servers.PYTHON, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay",
                                 "--no-reload", "--worker-id", worker_id],
                                cwd=servers.REPO, env=env, stdout=output, stderr=subprocess.STDOUT)


def test_a_killed_workers_job_is_run_by_another_worker_within_seconds(tmp_path):
    import sqlite3

    database = tmp_path / "jobs.sqlite3"
    env = servers.clean_env({"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": f"sqlite:///{database}",
                             "WORKER_GONE_AFTER_SECONDS": "2", "LOG_LEVEL": "INFO"})
    marker = tmp_path / "started"
    # One process for the tables the workers need and the job (each manage.py start costs seconds).
    job_id = manage(env, "shell", "-v0", "-c", "from django.core.management import call_command as c; "
                    "c('migrate', 'django_tasks_database', verbosity=0); c('migrate', 'ops', verbosity=0); "
                    "from tests.ops.slow_tasks import slow_the_first_time as t; "
                    f"print(t.enqueue({str(marker)!r}, 60).id)").strip()
    log = tmp_path / "workers.log"
    first = start_worker(env, log, "first")
    second = None
    try:
        deadline = time.monotonic() + 15
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), log.read_text()
        second = start_worker(env, log, "second")
        time.sleep(1.0)  # the second worker is up and beating; the first holds the job
        os.kill(first.pid, signal.SIGKILL)
        first.wait()

        def status() -> tuple[str, str]:
            with sqlite3.connect(database) as connection:
                row = connection.execute("SELECT status, worker_ids FROM django_tasks_database_dbtaskresult "
                                         "WHERE id = ?", (job_id.replace("-", ""),)).fetchone()
            return row[0], row[1]

        # Heartbeats go stale after 2 s and the second worker looks every 1 s: the job runs
        # again within seconds (the margin is for a loaded machine), not after "older than
        # N minutes"; nothing else would ever finish it, its first run sleeps a minute.
        killed_at = time.monotonic()
        while status()[0] != "SUCCESSFUL" and time.monotonic() - killed_at < 30:
            time.sleep(0.2)
        final, worker_ids = status()
        assert final == "SUCCESSFUL", log.read_text()
        assert worker_ids.endswith('"second"]')
    finally:
        for process in (first, second):
            if process is not None:
                servers.stop(process)
    assert "Returned 1 job(s) left running by a worker that is gone" in log.read_text()
