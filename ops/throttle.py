"""The one rate limiter: fixed windows counted atomically in the ``ratelimit`` cache.

A scope (``agent_auth``, ``webhook_ingest``, ...) has a rate in ``settings.RATE_LIMITS``
as ``(requests, seconds)``. Time is cut into windows of that many seconds; each caller
(usually the client IP) has one counter per scope and window. On Redis one small Lua
script increments the counter and, when it has just been created, sets its expiry: one
round trip per request, and atomic, so concurrent requests from several workers never
both take the last slot. On LocMemCache (one process) ``cache.add`` creates the counter
and ``cache.incr`` bumps it under the cache's lock.

When the cache fails (Redis down), requests are allowed: refusing every agent and every
webhook because a counter store is away would turn a degraded dependency into an outage.
One warning is logged when an outage starts and one line when it ends, not one per
request; ``ops.probes`` shows the state in ``/readyz``.

Three ways to count, one implementation, and one way to look:

- ``hit(scope, ident)`` for plain code;
- ``ScopedIpThrottle``, the DRF throttle class for views with ``throttle_scope``;
- ``enforce(scope, request)`` for authentication classes, which must refuse an
  over-limit caller before spending any work on its token;
- ``peek(scope, ident)`` reads a counter without adding to it, for limits that count
  only some requests (failed authentications) but stop every request once over.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django_redis.cache import RedisCache
from redis.commands.core import Script
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

from ops.client_ip import client_ip

CACHE_ALIAS = "ratelimit"

# Where windows get their time: the wall clock. Tests replace it to keep a burst in one window.
clock = time.time

logger = logging.getLogger("ops.throttle")


@dataclass(frozen=True)
class ThrottleResult:
    allowed: bool
    retry_after: int
    """Seconds until the current window ends (at least 1); meaningful when refused."""
    count: int | None = None
    """Requests counted in this window including this one; None when the cache failed."""


# While the cache is failing, ask it again only this often: a Redis that times out would
# otherwise add its socket timeout to every request.
RETRY_FAILED_CACHE_SECONDS = 5.0


class _OutageState:
    """Remembers whether the cache is failing, so an outage is logged once per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.failing = False
        self.since: float | None = None
        self.last_error = ""
        self.last_failure = 0.0

    def should_try(self) -> bool:
        return not self.failing or time.monotonic() - self.last_failure >= RETRY_FAILED_CACHE_SECONDS

    def failed(self, exc: Exception) -> None:
        with self._lock:
            self.last_error = f"{type(exc).__name__}: {exc}"[:200]
            self.last_failure = time.monotonic()
            if self.failing:
                return
            self.failing, self.since = True, time.time()
        logger.warning("Rate-limit cache is unreachable; allowing requests without limits until it is back (%s).",
                       self.last_error, extra={"cache_alias": CACHE_ALIAS})

    def succeeded(self) -> None:
        if not self.failing:
            return
        with self._lock:
            if not self.failing:
                return
            lasted = time.time() - (self.since or time.time())
            self.failing, self.since = False, None
        logger.info("Rate-limit cache is reachable again; limits apply (outage lasted %.0fs).", lasted,
                    extra={"cache_alias": CACHE_ALIAS})


outage = _OutageState()


def rate_for(scope: str) -> tuple[int, int]:
    try:
        count, seconds = settings.RATE_LIMITS[scope]
    except KeyError:
        raise ImproperlyConfigured(f"No rate limit is configured for the scope {scope!r}.") from None
    return int(count), int(seconds)


def hit(scope: str, ident: str, *, now: float | None = None) -> ThrottleResult:
    """Count one request by ``ident`` in ``scope`` and say whether it may proceed."""
    limit, period = rate_for(scope)
    now = clock() if now is None else now
    window = int(now // period)
    seconds_left = (window + 1) * period - now
    retry_after = max(1, math.ceil(seconds_left))
    key = f"throttle:{scope}:{window}:{ident}"
    # The counter only has to outlive its window; a spare second covers clock rounding.
    timeout = math.ceil(seconds_left) + 1
    if not outage.should_try():
        return ThrottleResult(allowed=True, retry_after=retry_after, count=None)
    cache = caches[CACHE_ALIAS]
    try:
        count = _increment(cache, key, timeout)
    except Exception as exc:  # noqa: BLE001  (any cache failure means: fail open)
        outage.failed(exc)
        return ThrottleResult(allowed=True, retry_after=retry_after, count=None)
    outage.succeeded()
    return ThrottleResult(allowed=count <= limit, retry_after=retry_after, count=count)


# INCR creates a missing key at 1; only then does it need its expiry. Keys are the cache's
# own (``make_key``), so the counters stay readable and deletable through the cache.
_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
_count_script: Script | None = None


def _increment(cache: Any, key: str, timeout: int) -> int:
    if isinstance(cache, RedisCache):
        return _increment_on_redis(cache, key, timeout)
    for _ in range(2):
        cache.add(key, 0, timeout)
        try:
            return int(cache.incr(key))
        except ValueError:
            # The key expired between add and incr (only at a window's very end): start again.
            continue
    raise RuntimeError(f"Could not count {key!r} in the rate-limit cache.")


def _increment_on_redis(cache: RedisCache, key: str, timeout: int) -> int:
    """One EVALSHA (EVAL once per Redis server, when it does not know the script yet)."""
    global _count_script
    client = cache.client.get_client(write=True)
    if _count_script is None:
        _count_script = client.register_script(_COUNT_SCRIPT)
    return int(_count_script(keys=[cache.make_key(key)], args=[timeout], client=client))


def enforce(scope: str, request: HttpRequest) -> None:
    """Raise DRF's ``Throttled`` (429 with ``Retry-After``) when the caller is over ``scope``."""
    result = hit(scope, client_ip(request))
    if not result.allowed:
        raise Throttled(wait=result.retry_after)


def is_failing_open() -> bool:
    return outage.failing


class ScopedIpThrottle(BaseThrottle):
    """DRF throttle: limits the view's ``throttle_scope`` per client IP; views without a scope pass."""

    def __init__(self) -> None:
        self._wait: int | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        scope = getattr(view, "throttle_scope", None)
        if not scope:
            return True
        result = hit(scope, client_ip(request))
        self._wait = result.retry_after
        return result.allowed

    def wait(self) -> float | None:
        return self._wait


def peek(scope: str, ident: str, *, now: float | None = None) -> ThrottleResult:
    """Whether ``ident`` is already over ``scope``, without counting this request.

    For limits that count only some requests yet refuse every request once over: failed
    agent authentications are counted with :func:`hit` after the fact, and the next
    request from that address is turned away here before its token is looked at."""
    limit, period = rate_for(scope)
    now = clock() if now is None else now
    window = int(now // period)
    retry_after = max(1, math.ceil((window + 1) * period - now))
    if not outage.should_try():
        return ThrottleResult(allowed=True, retry_after=retry_after, count=None)
    try:
        count = int(caches[CACHE_ALIAS].get(f"throttle:{scope}:{window}:{ident}") or 0)
    except Exception as exc:  # noqa: BLE001  (as in hit: a failing cache means no limit)
        outage.failed(exc)
        return ThrottleResult(allowed=True, retry_after=retry_after, count=None)
    outage.succeeded()
    return ThrottleResult(allowed=count < limit, retry_after=retry_after, count=count)
