from __future__ import annotations

import http.client
import logging
import random
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from rest_framework.exceptions import Throttled

from ops import probes, throttle
from tests.conftest import FrozenClock, redis_commands_sent, require_redis_server
from tests.ops import servers

CLOSED_PORT = servers.port(18190)
PRIVATE_REDIS_PORT = servers.port(18150)
CONCURRENCY_GUNICORN_PORT = servers.port(18111)
REFUSING_GUNICORN_PORT = servers.port(18112)
FIRST_INSTANCE_PORT = servers.port(18114)
SECOND_INSTANCE_PORT = servers.port(18115)
SHARED_LIMIT_REDIS_PORT = servers.private_service_port(18154)


@pytest.fixture(autouse=True)
def clean_throttle_state():
    """No outage remembered from another test (counters start empty: fresh_rate_limits)."""
    throttle.outage.failing = False
    yield
    throttle.outage.failing = False


@pytest.fixture
def tight_limits(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "agent_auth": (3, 60), "test_scope": (2, 10)}
    return settings


def redis_cache(url: str) -> dict:
    return {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url, "KEY_PREFIX": f"mc-rl-test-{random.random()}",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}}


def test_requests_up_to_the_limit_pass_and_the_next_is_refused(tight_limits):
    results = [throttle.hit("agent_auth", "198.51.100.1", now=1000.0) for _ in range(4)]
    assert [result.allowed for result in results] == [True, True, True, False]
    assert [result.count for result in results] == [1, 2, 3, 4]


def test_each_client_and_scope_has_its_own_counter(tight_limits):
    for _ in range(3):
        throttle.hit("agent_auth", "198.51.100.1", now=1000.0)
    assert throttle.hit("agent_auth", "198.51.100.1", now=1000.0).allowed is False
    assert throttle.hit("agent_auth", "198.51.100.2", now=1000.0).allowed is True
    assert throttle.hit("test_scope", "198.51.100.1", now=1000.0).allowed is True


def test_a_request_counts_for_exactly_one_period_after_it(tight_limits):
    # No fixed windows: the three requests at 1000 hold the limit until 1060, across any
    # minute boundary, and each frees its slot one period after it was made.
    for _ in range(4):
        throttle.hit("agent_auth", "198.51.100.1", now=1000.0)
    assert throttle.hit("agent_auth", "198.51.100.1", now=1020.0).allowed is False
    assert throttle.hit("agent_auth", "198.51.100.1", now=1059.9).allowed is False
    assert throttle.hit("agent_auth", "198.51.100.1", now=1060.0).allowed is True


def test_the_limit_holds_over_any_span_across_a_minute_boundary(tight_limits):
    # Three at 1015 (late in one clock minute), then at 1021 (early in the next): refused.
    assert [throttle.hit("agent_auth", "198.51.100.2", now=1015.0).allowed for _ in range(3)] == [True] * 3
    assert throttle.hit("agent_auth", "198.51.100.2", now=1021.0).allowed is False
    assert throttle.hit("agent_auth", "198.51.100.2", now=1075.0).allowed is True


def test_slots_free_one_at_a_time_as_the_requests_age(tight_limits):
    for moment in (1000.0, 1010.0, 1020.0):
        assert throttle.hit("agent_auth", "198.51.100.3", now=moment).allowed is True
    assert throttle.hit("agent_auth", "198.51.100.3", now=1030.0).retry_after == 30
    assert throttle.hit("agent_auth", "198.51.100.3", now=1060.0).allowed is True  # the one at 1000 aged out
    assert throttle.hit("agent_auth", "198.51.100.3", now=1061.0).retry_after == 9  # the one at 1010 is next


def test_the_window_resets_as_the_clock_moves(tight_limits, throttle_clock):
    throttle_clock.now = 5000.5
    for _ in range(2):
        assert throttle.hit("test_scope", "203.0.113.5").allowed is True
    assert throttle.hit("test_scope", "203.0.113.5").allowed is False
    throttle_clock.now = 5010.0
    assert throttle.hit("test_scope", "203.0.113.5").allowed is False  # 9.5 s later: still within 10 s
    throttle_clock.now = 5010.5
    assert throttle.hit("test_scope", "203.0.113.5").allowed is True


def test_outside_the_tests_the_clock_is_the_wall_clock(throttle_clock):
    assert throttle_clock.real is time.time


def test_retry_after_is_the_time_until_a_slot_frees_and_at_least_one_second(tight_limits):
    for moment in (970.0, 971.0, 972.0):
        throttle.hit("agent_auth", "198.51.100.9", now=moment)
    assert throttle.hit("agent_auth", "198.51.100.9", now=980.0).retry_after == 50
    assert throttle.hit("agent_auth", "198.51.100.9", now=1029.99).retry_after == 1
    assert throttle.hit("agent_auth", "198.51.100.9", now=1029.2).retry_after == 1


def test_an_unknown_scope_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="no_such_scope"):
        throttle.hit("no_such_scope", "198.51.100.1")


def test_enforce_raises_throttled_with_the_wait(tight_limits):
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.77")
    for _ in range(3):
        throttle.enforce("agent_auth", request)
    with pytest.raises(Throttled) as refused:
        throttle.enforce("agent_auth", request)
    assert 1 <= refused.value.wait <= 60


@pytest.mark.urls("tests.ops.urls")
def test_a_throttled_view_answers_429_with_retry_after_in_the_envelope(client, tight_limits):
    statuses = [client.get("/api/v1/throttled").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    response = client.get("/api/v1/throttled")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    body = response.json()
    assert body["request_id"] == response["X-Request-ID"]
    assert body["detail"].startswith("Request was throttled.")


@pytest.mark.urls("tests.ops.urls")
def test_a_view_that_only_names_a_scope_is_throttled_by_default(client, tight_limits):
    assert [client.get("/api/v1/scope-only").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert client.get("/api/v1/open").status_code == 200  # no scope, no limit


@pytest.mark.urls("tests.ops.urls")
def test_the_throttle_counts_per_client_ip_behind_a_trusted_proxy(client, tight_limits):
    import ipaddress

    tight_limits.TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1/32")]
    for _ in range(3):
        client.get("/api/v1/throttled", headers={"X-Forwarded-For": "192.0.2.1"})
    assert client.get("/api/v1/throttled", headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 429
    assert client.get("/api/v1/throttled", headers={"X-Forwarded-For": "192.0.2.2"}).status_code == 200


def test_counting_works_on_redis(settings, redis_url):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "test_scope": (2, 60)}
    settings.CACHES = {**settings.CACHES, "ratelimit": redis_cache(redis_url)}
    results = [throttle.hit("test_scope", "198.51.100.1").allowed for _ in range(3)]
    assert results == [True, True, False]
    key = caches["ratelimit"].make_key("throttle:test_scope:198.51.100.1")
    ttl = caches["ratelimit"].client.get_client().ttl(key)
    assert 1 <= ttl <= 61  # a caller's requests expire one period after the last accepted one


def test_a_counted_request_costs_one_round_trip_to_redis(settings, redis_url, monkeypatch):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "test_scope": (5, 60)}
    settings.CACHES = {**settings.CACHES, "ratelimit": redis_cache(redis_url)}
    throttle.hit("test_scope", "198.51.100.3")  # the first call may also load the script
    sent = redis_commands_sent(monkeypatch)
    result = throttle.hit("test_scope", "198.51.100.3")
    assert (result.allowed, result.count) == (True, 2)
    assert len(sent) == 1


def test_the_redis_record_expires_one_period_after_its_last_request(settings, redis_url):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "test_scope": (5, 60)}
    settings.CACHES = {**settings.CACHES, "ratelimit": redis_cache(redis_url)}
    ident = f"198.51.100.{random.randint(10, 250)}"
    now = 1_767_225_600.0
    assert throttle.hit("test_scope", ident, now=now).count == 1
    assert throttle.hit("test_scope", ident, now=now + 30).count == 2
    key = caches["ratelimit"].make_key(f"throttle:test_scope:{ident}")
    assert 1 <= caches["ratelimit"].client.get_client().ttl(key) <= 61
    # Requests older than the period are dropped on the next request, whatever the TTL.
    assert throttle.hit("test_scope", ident, now=now + 75).count == 2


def test_peek_reads_the_count_without_adding_to_it(tight_limits):
    assert throttle.peek("agent_auth", "198.51.100.4", now=1000.0) == throttle.ThrottleResult(
        allowed=True, retry_after=60, count=0)
    for _ in range(3):
        throttle.hit("agent_auth", "198.51.100.4", now=1000.0)
    over = [throttle.peek("agent_auth", "198.51.100.4", now=1000.0) for _ in range(5)]
    assert [(result.allowed, result.count, result.retry_after) for result in over] == [(False, 3, 60)] * 5
    assert throttle.peek("agent_auth", "198.51.100.4", now=1059.0).allowed is False
    assert throttle.peek("agent_auth", "198.51.100.4", now=1060.0).allowed is True  # a period later
    assert throttle.hit("agent_auth", "198.51.100.4", now=1000.0).count == 4  # peeks counted nothing


def test_peek_fails_open_when_the_cache_fails(settings):
    settings.CACHES = {**settings.CACHES, "ratelimit": redis_cache(f"redis://127.0.0.1:{CLOSED_PORT}/0")}
    result = throttle.peek("agent_auth", "198.51.100.5")
    assert (result.allowed, result.count) == (True, None)
    assert throttle.is_failing_open() is True


def test_peek_reads_the_counters_hit_writes_on_redis(settings, redis_url):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "test_scope": (2, 60)}
    settings.CACHES = {**settings.CACHES, "ratelimit": redis_cache(redis_url)}
    ident = f"198.51.100.{random.randint(10, 250)}"
    now = time.time()
    assert throttle.peek("test_scope", ident, now=now).count == 0
    throttle.hit("test_scope", ident, now=now)
    assert (throttle.peek("test_scope", ident, now=now).allowed, throttle.peek("test_scope", ident, now=now).count) \
        == (True, 1)
    throttle.hit("test_scope", ident, now=now)
    assert throttle.peek("test_scope", ident, now=now).allowed is False


def test_peek_then_hit_counts_only_when_the_peek_allows(tight_limits, limiter_backend):
    now = 1_767_225_600.0
    for _ in range(3):
        throttle.hit("agent_auth", "198.51.100.20", now=now)

    over, nothing = throttle.peek_then_hit("agent_auth", "198.51.100.20", "test_scope", "agent-a", now=now)
    clean, counted = throttle.peek_then_hit("agent_auth", "198.51.100.21", "test_scope", "agent-a", now=now)

    assert (over.allowed, over.count, over.retry_after, nothing) == (False, 3, 60, None)
    assert (clean.allowed, clean.count, clean.retry_after) == (True, 0, 60)
    assert (counted.allowed, counted.count, counted.counted.scope, counted.counted.ident) == (
        True, 1, "test_scope", "agent-a")
    assert throttle.peek("test_scope", "agent-a", now=now).count == 1  # the refused one counted nothing
    _, second = throttle.peek_then_hit("agent_auth", "198.51.100.21", "test_scope", "agent-a", now=now + 1)
    _, third = throttle.peek_then_hit("agent_auth", "198.51.100.21", "test_scope", "agent-a", now=now + 2)
    assert (second.allowed, third.allowed, third.count, third.counted, third.retry_after) == (True, False, 3, None, 8)


def test_hit_takes_back_a_request_counted_before(tight_limits, limiter_backend):
    now = 1_767_225_600.0
    _, first = throttle.peek_then_hit("agent_auth", "198.51.100.22", "test_scope", "agent-b", now=now)
    _, second = throttle.peek_then_hit("agent_auth", "198.51.100.22", "test_scope", "agent-b", now=now)
    assert throttle.peek("test_scope", "agent-b", now=now).count == 2

    failure = throttle.hit("agent_auth", "198.51.100.22", now=now, take_back=first.counted)

    assert (failure.allowed, failure.count) == (True, 1)
    assert throttle.peek("test_scope", "agent-b", now=now).count == 1  # the other one stays
    throttle.hit("agent_auth", "198.51.100.22", now=now, take_back=first.counted)  # taking back twice: no harm
    assert throttle.peek("test_scope", "agent-b", now=now).count == 1
    throttle.hit("agent_auth", "198.51.100.22", now=now, take_back=second.counted)
    assert throttle.peek("test_scope", "agent-b", now=now).count == 0


def test_peek_then_hit_costs_one_round_trip_to_redis(settings, redis_url, monkeypatch):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "test_scope": (5, 60)}
    settings.CACHES = {**settings.CACHES, "ratelimit": redis_cache(redis_url)}
    throttle.peek_then_hit("agent_auth", "198.51.100.23", "test_scope", "agent-c")  # may load the script
    sent = redis_commands_sent(monkeypatch)
    _, counted = throttle.peek_then_hit("agent_auth", "198.51.100.23", "test_scope", "agent-c")
    assert (counted.allowed, counted.count) == (True, 2)
    assert len(sent) == 1


def test_peek_then_hit_fails_open_when_the_cache_fails(settings):
    settings.CACHES = {**settings.CACHES, "ratelimit": redis_cache(f"redis://127.0.0.1:{CLOSED_PORT}/0")}
    peeked, counted = throttle.peek_then_hit("agent_auth", "198.51.100.24", "agent_requests", "agent-d")
    assert (peeked.allowed, peeked.count, counted) == (True, None, None)
    assert throttle.is_failing_open() is True


# --- atomic across worker processes on Redis ------------------------------------------------

def test_fifty_concurrent_requests_across_three_workers_let_through_exactly_the_limit(redis_url, tmp_path):
    limit = 10
    env = {
        "RATE_LIMIT_BACKEND": "redis", "RATE_LIMIT_REDIS_URL": redis_url,
        "RATE_LIMIT_WEBHOOK_INGEST": f"{limit}/3600", "TRUSTED_PROXIES": "127.0.0.1",
        "REQUEST_LOG_SLOW_MS": "0",
    }
    # A fresh client address per run: counters of earlier runs may still be in Redis.
    client_address = f"198.18.{random.randint(0, 255)}.{random.randint(1, 254)}"
    path = "/api/v1/boards/0b7e6a1c-6a55-4f5e-9d44-3a7f3f0b1c11/webhooks/8f1f0e0c-0a4e-4c6e-8b7a-1b9a1f1f2e22"

    def post(_: int) -> tuple[int, str | None]:
        connection = http.client.HTTPConnection("127.0.0.1", CONCURRENCY_GUNICORN_PORT, timeout=30)
        try:
            connection.request("POST", path, body=b"{}", headers={
                "Content-Type": "application/json", "X-Forwarded-For": client_address})
            response = connection.getresponse()
            response.read()
            return response.status, response.getheader("Retry-After")
        finally:
            connection.close()

    # The servers' clock is stopped: the burst is counted in one window.
    with servers.gunicorn(CONCURRENCY_GUNICORN_PORT, env, workers=3, tmp_path=tmp_path,
                          frozen_clock=FrozenClock.START):
        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(post, range(50)))

    statuses = [status for status, _ in results]
    assert set(statuses) <= {202, 429}
    assert statuses.count(202) == limit
    assert all(retry_after and int(retry_after) >= 1 for status, retry_after in results if status == 429)


def test_two_instances_sharing_redis_hold_the_limit_across_a_minute_boundary(tmp_path, redis_server_binary):
    """The outside tester's case: a burst late in one minute and another early in the next,
    spread over two servers. Fixed windows let both through; the limit is per any 60 s."""
    limit = 10
    clock_file = tmp_path / "clock"
    minute = FrozenClock.START  # a multiple of 60
    clock_file.write_text(repr(minute + 55))
    redis_process = servers.start_redis(redis_server_binary, SHARED_LIMIT_REDIS_PORT)
    env = {"RATE_LIMIT_BACKEND": "redis", "RATE_LIMIT_REDIS_URL": f"redis://127.0.0.1:{SHARED_LIMIT_REDIS_PORT}/0",
           "RATE_LIMIT_WEBHOOK_INGEST": f"{limit}/60", "TRUSTED_PROXIES": "127.0.0.1", "REQUEST_LOG_SLOW_MS": "0"}
    path = "/api/v1/boards/0b7e6a1c-6a55-4f5e-9d44-3a7f3f0b1c11/webhooks/8f1f0e0c-0a4e-4c6e-8b7a-1b9a1f1f2e22"

    def post(port: int) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("POST", path, body=b"{}", headers={
                "Content-Type": "application/json", "X-Forwarded-For": "198.18.7.7"})
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    try:
        with servers.gunicorn(FIRST_INSTANCE_PORT, env, workers=1, tmp_path=tmp_path, clock_file=clock_file) as first, \
                servers.gunicorn(SECOND_INSTANCE_PORT, env, workers=1, tmp_path=tmp_path,
                                 clock_file=clock_file) as second:
            late_in_the_minute = [post(first if n % 2 else second) for n in range(limit)]
            clock_file.write_text(repr(minute + 62))  # seven seconds later, in the next clock minute
            early_in_the_next = [post(first if n % 2 else second) for n in range(limit)]
            clock_file.write_text(repr(minute + 115.5))  # a full minute after the first burst
            a_minute_later = [post(first if n % 2 else second) for n in range(limit + 1)]
    finally:
        servers.stop(redis_process)
    assert late_in_the_minute == [202] * limit
    assert early_in_the_next == [429] * limit
    assert a_minute_later == [202] * limit + [429]


# --- fail open when Redis goes away ------------------------------------------------------------

@pytest.fixture
def redis_server_binary() -> str:
    return require_redis_server()


@pytest.mark.django_db
def test_when_redis_stops_requests_pass_with_one_warning_and_readiness_degrades(
        settings, redis_server_binary, caplog, monkeypatch):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "test_scope": (2, 60)}
    settings.CACHES = {**settings.CACHES, "ratelimit": redis_cache(f"redis://127.0.0.1:{PRIVATE_REDIS_PORT}/0")}
    caplog.set_level(logging.INFO, logger="ops.throttle")
    redis_process = servers.start_redis(redis_server_binary, PRIVATE_REDIS_PORT)
    try:
        assert [throttle.hit("test_scope", "198.51.100.1").allowed for _ in range(3)] == [True, True, False]
        servers.stop(redis_process)

        results = [throttle.hit("test_scope", "198.51.100.1") for _ in range(5)]
        assert all(result.allowed for result in results)
        assert all(result.count is None for result in results)
        warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "allowing requests without limits" in warnings[0].getMessage()

        probes.forget_cached_answers()
        report = probes.readiness()
        assert report["ok"] is True
        assert report["checks"]["cache"]["status"] == "degraded"
        assert report["checks"]["cache"]["caches"]["ratelimit"]["rate_limits_fail_open"] is True

        redis_process = servers.start_redis(redis_server_binary, PRIVATE_REDIS_PORT)
        monkeypatch.setattr(throttle, "RETRY_FAILED_CACHE_SECONDS", 0.0)
        caplog.clear()
        assert throttle.hit("test_scope", "198.51.100.1").allowed is True  # a fresh Redis: count 1
        throttle.hit("test_scope", "198.51.100.1")
        assert throttle.hit("test_scope", "198.51.100.1").allowed is False  # limits apply again
        recoveries = [record.getMessage() for record in caplog.records]
        assert len(recoveries) == 1 and "reachable again" in recoveries[0]
        assert throttle.is_failing_open() is False
    finally:
        servers.stop(redis_process)


def test_a_failing_cache_is_not_asked_again_on_every_request(settings, monkeypatch):
    settings.CACHES = {**settings.CACHES, "ratelimit": redis_cache(f"redis://127.0.0.1:{CLOSED_PORT}/0")}
    attempts = []
    real_hit = throttle._hit_on_redis

    def counting(cache, key, *args):
        attempts.append(key)
        return real_hit(cache, key, *args)

    monkeypatch.setattr(throttle, "_hit_on_redis", counting)
    assert all(throttle.hit("agent_auth", "198.51.100.1").allowed for _ in range(5))
    assert len(attempts) == 1
    monkeypatch.setattr(throttle, "RETRY_FAILED_CACHE_SECONDS", 0.0)
    throttle.hit("agent_auth", "198.51.100.1")
    assert len(attempts) == 2  # after the pause, the cache is tried again


# --- refusal to start without the rate-limit Redis ------------------------------------------

REFUSING_ENV = {"RATE_LIMIT_BACKEND": "redis", "RATE_LIMIT_REDIS_URL": f"redis://127.0.0.1:{CLOSED_PORT}/0"}


def test_manage_py_check_refuses_when_the_rate_limit_redis_is_unreachable():
    result = subprocess.run([servers.PYTHON, "manage.py", "check"], cwd=servers.REPO, capture_output=True,
                            text=True, timeout=60, env=servers.clean_env(REFUSING_ENV))
    assert result.returncode == 1
    assert "ops.E021" in result.stderr
    assert f"redis://127.0.0.1:{CLOSED_PORT}/0" in result.stderr
    assert "RATE_LIMIT_REDIS_URL" in result.stderr and "REDIS_URL" in result.stderr


def test_manage_py_check_passes_when_the_rate_limit_redis_answers(redis_url):
    env = {"RATE_LIMIT_BACKEND": "redis", "RATE_LIMIT_REDIS_URL": redis_url}
    result = subprocess.run([servers.PYTHON, "manage.py", "check"], cwd=servers.REPO, capture_output=True,
                            text=True, timeout=60, env=servers.clean_env(env))
    assert result.returncode == 0, result.stderr
    assert "ops.E021" not in result.stderr


def test_gunicorn_refuses_to_start_when_the_rate_limit_redis_is_unreachable(tmp_path):
    env = servers.clean_env({**REFUSING_ENV, "BIND": f"127.0.0.1:{REFUSING_GUNICORN_PORT}", "WEB_CONCURRENCY": "2",
                             "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    result = subprocess.run([servers.GUNICORN, "-c", "gunicorn.conf.py", "missioncontrol.wsgi:application"],
                            cwd=servers.REPO, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1
    assert "Mission Control cannot start" in result.stderr
    assert "ops.E021" in result.stderr and "RATE_LIMIT_REDIS_URL" in result.stderr
    assert "Traceback" not in result.stderr
