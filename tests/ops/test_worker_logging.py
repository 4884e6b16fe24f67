"""The worker logs what ``LOG_LEVEL`` asks for: nothing per job at INFO, one line per job at DEBUG."""

from __future__ import annotations

import subprocess

import pytest

from tests.ops import servers


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([servers.PYTHON, "manage.py", *args], cwd=servers.REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def worker_env(tmp_path):
    database = servers.migrated_sqlite(tmp_path / "worker.sqlite3")
    return servers.clean_env({"DATABASE_URL": f"sqlite:///{database}", "DB_AUTO_MIGRATE": "false"})


def run_two_jobs(env: dict[str, str], log_level: str, *worker_args: str) -> str:
    env = {**env, "LOG_LEVEL": log_level}
    # Two jobs that end without doing anything (their delivery does not exist).
    run(["shell", "-v", "0", "-c", "from webhooks.tasks import deliver_payload\n"
         "for _ in range(2): deliver_payload.enqueue('00000000-0000-0000-0000-000000000000', 1, 1)"], env)
    result = run(["db_worker", "--batch", "--no-startup-delay", "--interval", "0", *worker_args], env)
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
