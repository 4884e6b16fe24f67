"""The background worker against a real Postgres that restarts and goes away: it stays up,
waits with backoff, and runs the jobs queued meanwhile once the database is back."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import require_postgres_server
from tests.ops import servers

PRIVATE_POSTGRES_PORT = servers.private_service_port(18152)


@pytest.fixture
def postgres():
    require_postgres_server()
    with servers.private_postgres(PRIVATE_POSTGRES_PORT) as server:
        yield server


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([servers.PYTHON, "manage.py", *args], cwd=servers.REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def job_status(server: servers.PrivatePostgres, job_id: str) -> str:
    import psycopg

    with psycopg.connect(server.url, connect_timeout=2) as connection:
        row = connection.execute("SELECT status FROM django_tasks_database_dbtaskresult WHERE id = %s",
                                 (job_id,)).fetchone()
    return row[0] if row else "missing"


def enqueue(env: dict[str, str]) -> str:
    # The worker's database has only the job table: the job runs and fails (no delivery
    # table), which is as good as success to show that it was picked up.
    return manage(env, "shell", "-v0", "-c",
                  "from webhooks.tasks import deliver_payload; "
                  "print(deliver_payload.enqueue('00000000-0000-0000-0000-000000000000', 1, 1).id)").strip()


def wait_for_heartbeat(server: servers.PrivatePostgres, log: Path, timeout: float = 30) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(server.url, connect_timeout=2) as connection:
            if connection.execute("SELECT count(*) FROM ops_workerheartbeat").fetchone()[0]:
                return
        time.sleep(0.1)
    raise AssertionError(f"the worker never beat its heartbeat:\n{log.read_text()}")


def wait_for_finish(server: servers.PrivatePostgres, job_id: str, timeout: float = 20) -> str:
    """The job's status once a worker has run it (or whatever it is at the timeout)."""
    deadline = time.monotonic() + timeout
    status = job_status(server, job_id)
    while status in ("READY", "RUNNING") and time.monotonic() < deadline:
        time.sleep(0.2)
        status = job_status(server, job_id)
    return status


def test_the_worker_outlives_a_postgres_restart_and_an_outage(postgres, tmp_path: Path):
    env = servers.clean_env({"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": postgres.url,
                             "LOG_LEVEL": "INFO"})
    # The job and heartbeat tables are all the worker needs.
    manage(env, "shell", "-v0", "-c", "from django.core.management import call_command as c; "
           "c('migrate', 'django_tasks_database', verbosity=0); c('migrate', 'ops', verbosity=0)")
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen([servers.PYTHON, "manage.py", "db_worker", "--interval", "0.1",
                                   "--no-startup-delay", "--no-reload"],
                                  cwd=servers.REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_heartbeat(postgres, log)  # up and using the database, however slow the machine
        postgres.restart()
        time.sleep(1.0)
        assert worker.poll() is None, log.read_text()

        # A longer outage: the worker polls a database that refuses connections for 2 s.
        postgres.stop()
        time.sleep(2.0)
        assert worker.poll() is None, log.read_text()
        postgres.start()

        assert wait_for_finish(postgres, enqueue(env)) == "FAILED", log.read_text()
        assert worker.poll() is None, log.read_text()
    finally:
        servers.stop(worker)
    text = log.read_text()
    assert "Database unavailable; the worker keeps retrying" in text
    assert "Database available again" in text
    assert text.count("Database unavailable") <= 2  # one line per outage, not one per retry
