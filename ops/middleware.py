"""The operational middleware, outermost first in ``settings.MIDDLEWARE``.

Each class states why it exists. They run before DRF, so they see every request: API,
console, probes, static files and the ones that end in an error.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from ops.client_ip import client_ip_from_meta, is_trusted, parse_ip
from ops.errors import error_response, wants_json_errors
from ops.request_context import current_request_id

Handler = Callable[[HttpRequest], HttpResponseBase]

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
PROBE_PATHS = frozenset({"/healthz", "/readyz"})

access_logger = logging.getLogger("ops.access")
slow_logger = logging.getLogger("ops.slow_requests")


class RequestIdMiddleware:
    """Gives every request an id that follows it through the logs and back to the caller.

    A caller (or nginx) may send ``X-Request-ID``; it is kept when it is 1-64 characters
    of ``[A-Za-z0-9._-]`` and replaced otherwise, because it lands in log lines and
    response headers where arbitrary text could forge entries. The id is bound to
    ``ops.request_context`` for the duration of the request, so every log line written
    while handling it carries the id, and error bodies can quote it.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = sanitise_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


def sanitise_request_id(value: str | None) -> str:
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class _QueryTimer:
    """Counts queries and the time spent in them, via ``connection.execute_wrapper``."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


class RequestTimingMiddleware:
    """Writes one access-log line per request and flags slow requests.

    gunicorn's own access log knows neither the route nor the database time, so this is
    the line operators read: method, route, status, duration, database time and query
    count, on logger ``ops.access`` (structured fields with ``LOG_FORMAT=json``). A
    request that takes ``REQUEST_LOG_SLOW_MS`` or more also writes a WARNING on
    ``ops.slow_requests``, which can be routed or alerted on by itself. The probes are
    left out (a load balancer calls them every few seconds) unless
    ``REQUEST_LOG_INCLUDE_HEALTH=true``. With the access log below the log level and
    ``REQUEST_LOG_SLOW_MS=0`` there is nothing to write, and the middleware steps aside.
    """

    def __init__(self, get_response: Handler) -> None:
        if not settings.REQUEST_LOG_SLOW_MS and not access_logger.isEnabledFor(logging.INFO):
            raise MiddlewareNotUsed("Access log is below the log level and the slow-request log is off.")
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path in PROBE_PATHS and not settings.REQUEST_LOG_INCLUDE_HEALTH:
            return self.get_response(request)
        timer = _QueryTimer()
        started = time.perf_counter()
        status = 500
        try:
            with ExitStack() as stack:
                for alias in connections:
                    stack.enter_context(connections[alias].execute_wrapper(timer))
                response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            self._log(request, status, (time.perf_counter() - started) * 1000, timer)

    def _log(self, request: HttpRequest, status: int, duration_ms: float, timer: _QueryTimer) -> None:
        match = getattr(request, "resolver_match", None)
        route = ("/" + match.route) if match is not None and match.route else request.path
        fields = {
            "method": request.method,
            "route": route,
            "path": request.path,
            "status": status,
            "duration_ms": round(duration_ms, 1),
            "db_ms": round(timer.seconds * 1000, 1),
            "db_queries": timer.count,
            "client_ip": getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR", ""),
        }
        summary = f"{request.method} {route} {status} {duration_ms:.1f}ms"
        access_logger.info(summary, extra=fields)
        threshold = settings.REQUEST_LOG_SLOW_MS
        if threshold and duration_ms >= threshold:
            slow_logger.warning("Slow request: %s (threshold %sms)", summary, threshold,
                                extra={**fields, "threshold_ms": threshold})


class JsonErrorMiddleware:
    """Makes sure API, probe and ingest paths never answer an error with an HTML page.

    DRF views and our error handlers already write the ``{detail, request_id}``
    envelope; this catches what they do not see: Django's plain 405 from a function
    view, a CSRF refusal, a 4xx/5xx written by third-party middleware. Clients of those
    paths parse JSON and would choke on anything else.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.status_code < 400 or not wants_json_errors(request):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        replacement = error_response(response.status_code, response.reason_phrase + ".")
        # Keep Allow, Retry-After, CORS and security headers; only the body changes.
        for name, value in response.items():
            if name.lower() not in ("content-type", "content-length"):
                replacement[name] = value
        replacement.cookies = response.cookies
        return replacement


NUL_IN_REQUEST = "The request path or query string contains a NUL character."


class NulCharacterMiddleware:
    """Answers 400 when the path or a query parameter contains a NUL character.

    Postgres text cannot hold U+0000: a filter such as ``?event_type=%00`` would reach the
    database and come back as a 500 from whichever view used it. No name, id or filter of
    ours contains one, so the request is refused before any view sees it: in the error
    envelope on API paths, as plain text elsewhere.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if "\x00" in request.path or any(
                "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            if wants_json_errors(request):
                return error_response(400, NUL_IN_REQUEST)
            return HttpResponse(NUL_IN_REQUEST, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class ClientIpMiddleware:
    """Computes the client's IP once, as ``request.client_ip``, for throttles and logs.

    Rate limits are per client IP, so believing a forged ``X-Forwarded-For`` would let
    anyone escape them: forwarding headers count only when the TCP peer is one of
    ``TRUSTED_PROXIES`` (see ``ops.client_ip``).
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request.client_ip = client_ip_from_meta(request.META, settings.TRUSTED_PROXIES)  # type: ignore[attr-defined]
        if not is_trusted(parse_ip(str(request.META.get("REMOTE_ADDR") or "")), settings.TRUSTED_PROXIES):
            # Django believes X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER) from any peer; only
            # our proxies may say a request arrived over HTTPS.
            request.META.pop("HTTP_X_FORWARDED_PROTO", None)
        return self.get_response(request)

