"""The one rate limiter: sliding windows kept atomically in the ``ratelimit`` cache.

A scope (``agent_auth``, ``webhook_ingest``, ...) has a rate in ``settings.RATE_LIMITS``
as ``(requests, seconds)``, and the limit holds over *any* span of that many seconds,
not per fixed window: 60 requests at :55 and 60 more at :02 are 120 within seven seconds,
which fixed windows let through. Each caller (usually the client IP) has the times of
its accepted requests in the last period; a request is accepted while fewer than the
limit remain. On Redis that is a sorted set and one small Lua script (trim, count, add,
expire): one round trip per request, and atomic, so concurrent requests from several
workers and hosts never both take the last slot. On LocMemCache (one process) a process
lock does the same for a list of times.

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
  only some requests (failed authentications) but stop every request once over;
- ``peek_then_hit(...)`` does both in one round trip: peeks at one scope and, when it
  allows, counts the request in another; ``hit(..., take_back=...)`` counts a request and
  takes back one counted before, also in one round trip. The agent API authenticates with
  one round trip when the token is right and two when it is wrong.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
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

# Where the limiter gets its time: the wall clock. Tests replace it to move time at will.
clock = time.time

logger = logging.getLogger("ops.throttle")


@dataclass(frozen=True)
class ThrottleResult:
    allowed: bool
    retry_after: int
    """Seconds until the caller may make one more request (at least 1); meaningful when refused."""
    count: int | None = None
    """Requests in the last period including this one (from ``peek``: not including); None
    when the cache failed."""
    counted: Counted | None = None
    """What this request added to its counter, for :func:`hit`'s ``take_back``; None when
    it added nothing (refused, peeked, or the cache failed)."""


@dataclass(frozen=True)
class Counted:
    """One request as a counter holds it: its scope, its caller and its entry."""

    scope: str
    ident: str
    member: str


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


def _key(scope: str, ident: str) -> str:
    return f"throttle:{scope}:{ident}"


def _retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def hit(scope: str, ident: str, *, now: float | None = None, take_back: Counted | None = None) -> ThrottleResult:
    """Count one request by ``ident`` in ``scope`` and say whether it may proceed; first
    remove ``take_back`` (a request counted before, that should not count) if given."""
    limit, period = rate_for(scope)
    now = clock() if now is None else now
    if not outage.should_try():
        return ThrottleResult(allowed=True, retry_after=period, count=None)
    cache = caches[CACHE_ALIAS]
    member = _member(now)
    try:
        if isinstance(cache, RedisCache):
            allowed, count, wait = _hit_on_redis(cache, _key(scope, ident), now, limit, period, member, take_back)
        else:
            if take_back is not None:
                _take_back_locally(cache, take_back)
            allowed, count, wait = _hit_locally(cache, _key(scope, ident), now, limit, period, member)
    except Exception as exc:  # noqa: BLE001  (any cache failure means: fail open)
        outage.failed(exc)
        return ThrottleResult(allowed=True, retry_after=period, count=None)
    outage.succeeded()
    return ThrottleResult(allowed=allowed, retry_after=_retry_after(wait), count=count,
                          counted=Counted(scope, ident, member) if allowed else None)


def _member(now: float) -> str:
    """A counter's entry for one request: its time, and a suffix, since several requests
    may share one timestamp."""
    return f"{now!r}:{uuid.uuid4().hex[:12]}"


# A sorted set per caller: one member per accepted request, scored by its time. Drop what
# is older than the period, then accept when fewer than the limit remain. A refused
# request is not stored, so a client hammering while over the limit does not push its
# own wait further out. Returns {allowed, count including this request, seconds until a
# slot frees} (the wait as a string: Lua numbers become integers in a reply).
_HIT_FUNCTION = """
local function hit(key, now, period, limit, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
  local count = redis.call('ZCARD', key)
  if count < limit then
    redis.call('ZADD', key, now, member)
    redis.call('PEXPIRE', key, math.ceil(period * 1000) + 1000)
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]
    return {1, count + 1, tostring(tonumber(oldest) + period - now)}
  end
  local freeing = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')[2]
  return {0, count + 1, tostring(tonumber(freeing) + period - now)}
end
"""
# KEYS: the counter, then (optional) the counter to take a member back from.
# ARGV: now, period, limit, member, then (optional) the member to take back.
_HIT_SCRIPT = _HIT_FUNCTION + """
if KEYS[2] then redis.call('ZREM', KEYS[2], ARGV[5]) end
return hit(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4])
"""
# KEYS: the peeked counter, the counted one. ARGV: the peek's lower bound (exclusive, as
# peek reads it), the peek's limit, then hit's four. Returns the peeked scores, oldest
# first, and hit's answer when the peek allowed (an empty list when it did not).
_PEEK_THEN_HIT_SCRIPT = _HIT_FUNCTION + """
local recent = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf', 'WITHSCORES')
local scores = {}
for i = 2, #recent, 2 do scores[#scores + 1] = recent[i] end
if #scores >= tonumber(ARGV[2]) then return {scores, {}} end
return {scores, hit(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6])}
"""
_scripts: dict[str, Script] = {}


def _script(client: Any, source: str) -> Script:
    """The script registered once per process (EVALSHA, with EVAL once per Redis server
    that does not know it yet)."""
    script = _scripts.get(source)
    if script is None:
        script = _scripts[source] = client.register_script(source)
    return script


_local_lock = threading.Lock()


def _hit_on_redis(cache: RedisCache, key: str, now: float, limit: int, period: int, member: str,
                  take_back: Counted | None = None) -> tuple[bool, int, float]:
    """One EVALSHA.

    The time comes from this host's ``clock()``, not Redis's ``TIME``: hosts are expected
    to keep NTP time, and tests can then move time without waiting for it."""
    client = cache.client.get_client(write=True)
    keys: list[str] = [cache.make_key(key)]
    args: list[str | int] = [repr(now), period, limit, member]
    if take_back is not None:
        keys.append(cache.make_key(_key(take_back.scope, take_back.ident)))
        args.append(take_back.member)
    allowed, count, wait = _script(client, _HIT_SCRIPT)(keys=keys, args=args, client=client)
    return bool(int(allowed)), int(count), float(wait)


def _hit_locally(cache: Any, key: str, now: float, limit: int, period: int, member: str) -> tuple[bool, int, float]:
    # LocMemCache lives in this process: a process lock makes read, trim and write atomic.
    # Each entry is (time, member), as the sorted set on Redis holds them.
    with _local_lock:
        accepted = [entry for entry in (cache.get(key) or []) if entry[0] > now - period]
        if len(accepted) < limit:
            accepted.append((now, member))
            cache.set(key, accepted, period + 1)
            return True, len(accepted), accepted[0][0] + period - now
        return False, len(accepted) + 1, accepted[len(accepted) - limit][0] + period - now


def _take_back_locally(cache: Any, counted: Counted) -> None:
    key = _key(counted.scope, counted.ident)
    with _local_lock:
        entries = cache.get(key)
        if entries:
            cache.set(key, [entry for entry in entries if entry[1] != counted.member], rate_for(counted.scope)[1] + 1)


def _recent_requests(cache: Any, key: str, now: float, period: int) -> list[float]:
    """Times of the accepted requests within the last ``period`` seconds, oldest first."""
    if isinstance(cache, RedisCache):
        client = cache.client.get_client(write=False)
        members = client.zrangebyscore(cache.make_key(key), f"({now - period!r}", "+inf", withscores=True)
        return [float(score) for _member, score in members]
    return [moment for moment, _member in (cache.get(key) or []) if moment > now - period]


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
    if not outage.should_try():
        return ThrottleResult(allowed=True, retry_after=period, count=None)
    try:
        recent = _recent_requests(caches[CACHE_ALIAS], _key(scope, ident), now, period)
    except Exception as exc:  # noqa: BLE001  (as in hit: a failing cache means no limit)
        outage.failed(exc)
        return ThrottleResult(allowed=True, retry_after=period, count=None)
    outage.succeeded()
    return _peeked(recent, limit, period, now)


def _peeked(recent: list[float], limit: int, period: int, now: float) -> ThrottleResult:
    count = len(recent)
    if count < limit:
        return ThrottleResult(allowed=True, retry_after=_retry_after(recent[0] + period - now) if recent else period,
                              count=count)
    return ThrottleResult(allowed=False, retry_after=_retry_after(recent[count - limit] + period - now), count=count)


def peek_then_hit(peek_scope: str, peek_ident: str, hit_scope: str, hit_ident: str, *,
                  now: float | None = None) -> tuple[ThrottleResult, ThrottleResult | None]:
    """:func:`peek` at one scope and, only when it allows, :func:`hit` another: one round
    trip on Redis. The second result is None when the peek refused (nothing was counted)
    or the cache failed (both allow then). The request counted can be taken back by the
    next :func:`hit` (``take_back=result.counted``)."""
    peek_limit, peek_period = rate_for(peek_scope)
    hit_limit, hit_period = rate_for(hit_scope)
    now = clock() if now is None else now
    if not outage.should_try():
        return ThrottleResult(allowed=True, retry_after=peek_period, count=None), None
    cache = caches[CACHE_ALIAS]
    member = _member(now)
    try:
        if isinstance(cache, RedisCache):
            client = cache.client.get_client(write=True)
            scores, counted = _script(client, _PEEK_THEN_HIT_SCRIPT)(
                keys=[cache.make_key(_key(peek_scope, peek_ident)), cache.make_key(_key(hit_scope, hit_ident))],
                args=[f"({now - peek_period!r}", peek_limit, repr(now), hit_period, hit_limit, member], client=client)
            peeked = _peeked([float(score) for score in scores], peek_limit, peek_period, now)
            answer = (bool(int(counted[0])), int(counted[1]), float(counted[2])) if counted else None
        else:
            peeked = _peeked(_recent_requests(cache, _key(peek_scope, peek_ident), now, peek_period),
                             peek_limit, peek_period, now)
            answer = (_hit_locally(cache, _key(hit_scope, hit_ident), now, hit_limit, hit_period, member)
                      if peeked.allowed else None)
    except Exception as exc:  # noqa: BLE001  (as in hit: a failing cache means no limit)
        outage.failed(exc)
        return ThrottleResult(allowed=True, retry_after=peek_period, count=None), None
    outage.succeeded()
    if answer is None:
        return peeked, None
    allowed, count, wait = answer
    return peeked, ThrottleResult(allowed=allowed, retry_after=_retry_after(wait), count=count,
                                  counted=Counted(hit_scope, hit_ident, member) if allowed else None)
