"""The readiness probe stays cheap when a dependency hangs: a breaker per check, a time
budget per report, and one recent answer shared by the probes of a process."""

from __future__ import annotations

import http.client
import json
import signal
import time

import pytest

from ops import probes
from tests.conftest import require_redis_server
from tests.ops import servers

HUNG_REDIS_PORT = servers.private_service_port(18151)
HUNG_REDIS_GUNICORN_PORT = servers.port(18113)


def slow_failure(seconds: float, calls: list[float]):
    def check():
        calls.append(time.monotonic())
        time.sleep(seconds)
        raise TimeoutError("no answer")
    return check


@pytest.mark.django_db
def test_a_check_that_fails_slowly_is_skipped_for_a_while_and_its_failure_shown(extra_check, monkeypatch):
    calls: list[float] = []
    extra_check("slow", slow_failure(probes.SLOW_FAILURE_SECONDS + 0.05, calls))
    first = probes.readiness()["checks"]["slow"]
    second = probes.readiness()["checks"]["slow"]
    assert len(calls) == 1
    assert first == {"ok": False, "status": "degraded", "error": "no answer"}
    assert second["skipped"] is True and second["error"] == "no answer" and second["status"] == "degraded"
    assert 0 < second["retry_in_seconds"] <= probes.RETRY_SLOW_FAILURE_SECONDS
    monkeypatch.setattr(probes, "RETRY_SLOW_FAILURE_SECONDS", 0.0)
    probes.readiness()
    assert len(calls) == 2  # the breaker closes again once its time is up


@pytest.mark.django_db
def test_a_check_that_fails_fast_is_retried_on_every_report(extra_check):
    calls: list[float] = []
    extra_check("refused", slow_failure(0.0, calls))
    for _ in range(3):
        assert "skipped" not in probes.readiness()["checks"]["refused"]
    assert len(calls) == 3


@pytest.mark.django_db
def test_once_the_budget_is_spent_the_remaining_checks_are_skipped(extra_check, monkeypatch):
    # Only the two slow checks, so the built-in ones on a slow database cannot spend the budget first.
    monkeypatch.setattr(probes, "_checks", {})
    monkeypatch.setattr(probes, "BUDGET_SECONDS", 0.2)
    calls: list[float] = []
    extra_check("slow_one", slow_failure(0.3, calls))
    extra_check("slow_two", slow_failure(0.3, calls))
    started = time.monotonic()
    report = probes.readiness()
    assert time.monotonic() - started < 0.5
    assert len(calls) == 1
    assert report["checks"]["slow_two"]["skipped"] is True
    assert "time budget" in report["checks"]["slow_two"]["error"]


@pytest.mark.django_db
def test_readyz_answers_probes_close_together_from_one_report(client, monkeypatch):
    reports = []
    real = probes.readiness
    monkeypatch.setattr(probes, "readiness", lambda: reports.append(1) or real())
    assert [client.get("/readyz").status_code for _ in range(5)] == [200] * 5
    assert len(reports) == 1
    monkeypatch.setattr(probes, "ANSWER_MAX_AGE_SECONDS", 0.0)
    client.get("/readyz")
    assert len(reports) == 2


@pytest.fixture
def redis_server_binary() -> str:
    return require_redis_server()


def probe(port: int) -> tuple[float, int, dict]:
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/readyz")
    response = connection.getresponse()
    body = json.loads(response.read())
    return time.monotonic() - started, response.status, body


def test_a_hung_redis_costs_one_slow_probe_not_one_per_probe(tmp_path, redis_server_binary):
    redis_process = servers.start_redis(redis_server_binary, HUNG_REDIS_PORT)
    try:
        env = {"REDIS_URL": f"redis://127.0.0.1:{HUNG_REDIS_PORT}/0", "RATE_LIMIT_BACKEND": "redis"}
        with servers.gunicorn(HUNG_REDIS_GUNICORN_PORT, env, workers=1, tmp_path=tmp_path) as port:
            _took, _status, healthy = probe(port)
            assert healthy["checks"]["cache"]["ok"] is True
            redis_process.send_signal(signal.SIGSTOP)
            try:
                time.sleep(probes.ANSWER_MAX_AGE_SECONDS)  # the healthy report has aged out
                # Spaced so that a report after the slow one is computed afresh, not reused.
                answers = []
                for _ in range(4):
                    answers.append(probe(port))
                    time.sleep(probes.ANSWER_MAX_AGE_SECONDS / 2 + 0.1)
            finally:
                redis_process.send_signal(signal.SIGCONT)
    finally:
        servers.stop(redis_process)
    durations = [took for took, _status, _body in answers]
    assert max(durations) < probes.BUDGET_SECONDS + 0.5, durations
    assert sum(took > 0.3 for took in durations) <= 1, durations
    last = answers[-1][2]["checks"]["cache"]
    assert last["ok"] is False and last["status"] == "degraded" and last["skipped"] is True
    assert {status for _took, status, _body in answers} == {answers[0][1]}  # Redis never fails the probe
