"""A short, growing delay between password sign-in attempts for one account.

The per-IP ``console_login`` limit does not stop a guesser who spreads attempts over many
addresses. Counting per account does, but a hard lock after N failures would let anyone
lock a person out by typing their username wrong on purpose. So each account gets a few
attempts at once, then must wait 1 s, 2 s, 4 s ... (capped at
``SIGN_IN_BACKOFF_MAX_SECONDS``) between attempts: an online guesser gets a handful of
tries a minute, and the real person waits seconds, never a lockout. A successful sign-in
clears the account's record; a record with no attempt for ``FORGET_SECONDS`` expires.

An attempt is paid for before the password is checked (``claim``), so concurrent guesses
from several workers cannot all slip into the same free slot; ``succeeded`` refunds it.
The state lives in the rate-limit cache (one Lua script, one round trip on Redis) and,
like every limit here, fails open with the throttle's outage log when the cache is away.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django_redis.cache import RedisCache
from redis.commands.core import Script

from ops import throttle

# An account nobody tried for this long starts again with its free attempts.
FORGET_SECONDS = 900


@dataclass(frozen=True)
class Attempt:
    allowed: bool
    retry_after: int
    """Seconds until the account may try again (at least 1); meaningful when refused."""


def _key(username: str) -> str:
    # Hashed: usernames are user input of any length and alphabet; keys stay short and safe.
    digest = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
    return f"throttle:signin:{digest}"


def delay_after(failures: int) -> float:
    """How long the account waits after its ``failures``-th unsuccessful attempt."""
    free = settings.SIGN_IN_BACKOFF_FREE_ATTEMPTS
    if failures <= free:
        return 0.0
    return float(min(settings.SIGN_IN_BACKOFF_MAX_SECONDS, 2 ** (failures - free - 1)))


# Reads the account's failures and the time before which it may not try; refuses, or
# counts this attempt as a failure (refunded on success) and sets the next allowed time.
_CLAIM_SCRIPT = """
local now = tonumber(ARGV[1])
local not_before = tonumber(redis.call('HGET', KEYS[1], 'not_before') or '0')
if now < not_before then return {0, tostring(not_before - now)} end
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures') or '0') + 1
local free, longest = tonumber(ARGV[2]), tonumber(ARGV[3])
local wait = 0
if failures > free then wait = math.min(longest, 2 ^ (failures - free - 1)) end
redis.call('HSET', KEYS[1], 'failures', failures, 'not_before', tostring(now + wait))
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {1, '0'}
"""
_claim_script: Script | None = None
_local_lock = threading.Lock()


def claim(username: str) -> Attempt:
    """May ``username`` try a password now? Counts the attempt as a failure until ``succeeded``."""
    if not username.strip() or not throttle.outage.should_try():
        return Attempt(True, 1)
    now = throttle.clock()
    cache = caches[throttle.CACHE_ALIAS]
    try:
        if isinstance(cache, RedisCache):
            allowed, wait = _claim_on_redis(cache, _key(username), now)
        else:
            allowed, wait = _claim_locally(cache, _key(username), now)
    except Exception as exc:  # noqa: BLE001  (a failing cache means no limit, as in ops.throttle)
        throttle.outage.failed(exc)
        return Attempt(True, 1)
    throttle.outage.succeeded()
    return Attempt(allowed, max(1, math.ceil(wait)))


def succeeded(username: str) -> None:
    """The person got in: their earlier failures no longer count."""
    if not username.strip() or not throttle.outage.should_try():
        return
    try:
        caches[throttle.CACHE_ALIAS].delete(_key(username))
    except Exception as exc:  # noqa: BLE001
        throttle.outage.failed(exc)


def _claim_on_redis(cache: RedisCache, key: str, now: float) -> tuple[bool, float]:
    global _claim_script
    client = cache.client.get_client(write=True)
    if _claim_script is None:
        _claim_script = client.register_script(_CLAIM_SCRIPT)
    allowed, wait = _claim_script(keys=[cache.make_key(key)], client=client, args=[
        repr(now), settings.SIGN_IN_BACKOFF_FREE_ATTEMPTS, settings.SIGN_IN_BACKOFF_MAX_SECONDS, FORGET_SECONDS])
    return bool(int(allowed)), float(wait)


def _claim_locally(cache: Any, key: str, now: float) -> tuple[bool, float]:
    # LocMemCache lives in this process; a process lock makes read-then-write atomic.
    with _local_lock:
        failures, not_before = cache.get(key) or (0, 0.0)
        if now < not_before:
            return False, not_before - now
        failures += 1
        cache.set(key, (failures, now + delay_after(failures)), FORGET_SECONDS)
    return True, 0.0
