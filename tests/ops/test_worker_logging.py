"""The worker logs what ``LOG_LEVEL`` asks for: nothing per job at INFO, one line per job at DEBUG."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.ops import servers


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([servers.PYTHON, "manage.py", *args], cwd=servers.REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def env_for(database: Path) -> dict[str, str]:
    return servers.clean_env({"DATABASE_URL": f"sqlite:///{database}", "DB_AUTO_MIGRATE": "false"})


@pytest.fixture(scope="module")
def two_jobs_queued():
    """A migrated database with two queued jobs that end without doing anything (their
    delivery does not exist), made once; each test's worker runs on a copy of it."""
    folder = Path(tempfile.mkdtemp(prefix="mc-worker-logging-"))
    database = servers.migrated_sqlite(folder / "queued.sqlite3")
    run(["shell", "-v", "0", "-c", "from webhooks.tasks import deliver_payload\n"
         "for _ in range(2): deliver_payload.enqueue('00000000-0000-0000-0000-000000000000', 1, 1)"],
        env_for(database))
    yield database
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def worker_env(tmp_path, two_jobs_queued):
    database = tmp_path / "worker.sqlite3"
    shutil.copyfile(two_jobs_queued, database)
    return env_for(database)


def run_two_jobs(env: dict[str, str], log_level: str, *worker_args: str) -> str:
    result = run(["db_worker", "--batch", "--no-startup-delay", "--interval", "0", *worker_args],
                 {**env, "LOG_LEVEL": log_level})
    return result.stdout + result.stderr


def job_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "path=webhooks.tasks.deliver_payload" in line]


def test_the_worker_writes_no_line_per_job_at_info(worker_env):
    output = run_two_jobs(worker_env, "INFO")
    assert job_lines(output) == []
    assert "Starting worker" in output  # INFO lines that are not per job still show


def test_the_worker_writes_one_debug_line_per_job_at_debug(worker_env):
    lines = job_lines(run_two_jobs(worker_env, "DEBUG"))
    assert len(lines) == 2
    assert all(" DEBUG " in line and "SUCCESSFUL" in line for line in lines)


def test_the_worker_obeys_a_log_level_above_info(worker_env):
    output = run_two_jobs(worker_env, "WARNING")
    assert job_lines(output) == [] and "Starting worker" not in output


def test_verbosity_two_turns_the_per_job_lines_on_whatever_the_log_level(worker_env):
    assert len(job_lines(run_two_jobs(worker_env, "INFO", "-v", "2"))) == 2
