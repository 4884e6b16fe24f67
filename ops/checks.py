"""System checks: configuration problems found in settings, and the rate-limit Redis.

They run for ``manage.py check``, before ``migrate``/``runserver``/``db_worker``, and in
gunicorn's master when it loads ``missioncontrol.wsgi`` (``ops.startup``), so a bad
configuration stops every entry point with the same sentence.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from ops import config as cfg

REDIS_PING_TIMEOUT_SECONDS = 2.0


@register()
def configuration_problems(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[cfg.ConfigProblem] = getattr(settings, "CONFIG_PROBLEMS", [])
    return [Error(problem.message, hint=problem.hint or None, id=problem.id) for problem in problems]


def redacted_url(url: str) -> str:
    """The URL without its password, fit for an error message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def ping_redis(url: str, timeout: float = REDIS_PING_TIMEOUT_SECONDS) -> None:
    """Raise when Redis at ``url`` does not answer PING within ``timeout`` seconds.

    A fresh client, closed afterwards: this runs in gunicorn's master before it forks,
    and a socket left open there would be shared by every worker.
    """
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


@register()
def rate_limit_redis_reachable(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if getattr(settings, "RATE_LIMIT_BACKEND", "memory") != "redis" or not settings.RATE_LIMIT_REDIS_URL:
        return []  # memory backend, or no URL at all (ops.E020 says so)
    url = settings.RATE_LIMIT_REDIS_URL
    try:
        ping_redis(url)
    except Exception as exc:  # noqa: BLE001  (any failure means: not usable)
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return [Error(
            f"RATE_LIMIT_BACKEND=redis, but the rate-limit Redis at {redacted_url(url)} "
            f"(RATE_LIMIT_REDIS_URL, or REDIS_URL when that is unset) cannot be reached: {reason}",
            hint="Start Redis, correct RATE_LIMIT_REDIS_URL/REDIS_URL, or set RATE_LIMIT_BACKEND=memory "
                 "for per-process limits.",
            id=cfg.E_RATE_LIMIT_REDIS_DOWN,
        )]
    return []
