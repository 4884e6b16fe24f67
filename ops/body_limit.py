"""The request body limit: 413 before any view reads a body that is too large.

A module of its own because the webhook ingest view needs its helpers (the ingest
route answers its own 413, after the checks its contract puts first).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from ops.errors import error_response

Handler = Callable[[HttpRequest], HttpResponseBase]

# POST /api/v1/boards/<uuid>/webhooks/<uuid>: the one route that takes third-party payloads.
WEBHOOK_INGEST_PATH = re.compile(r"/api/v1/boards/[0-9A-Fa-f-]{32,36}/webhooks/[0-9A-Fa-f-]{32,36}/?")
_READ_CHUNK = 64 * 1024


def is_webhook_ingest(request: HttpRequest) -> bool:
    return request.method == "POST" and WEBHOOK_INGEST_PATH.fullmatch(request.path) is not None


def body_limit_for(request: HttpRequest) -> int:
    """The largest body accepted for this request: webhook payloads have their own limit."""
    return settings.WEBHOOK_MAX_PAYLOAD_BYTES if is_webhook_ingest(request) else settings.API_MAX_BODY_BYTES


def too_large_response(limit: int) -> HttpResponse:
    return error_response(413, f"Request body is larger than the limit of {limit} bytes.")


def body_over_limit(request: HttpRequest) -> bool:
    """Whether ``BodySizeLimitMiddleware`` left the 413 of this (ingest) request to the view."""
    return bool(getattr(request, "body_over_limit", False))


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit with 413 before any view reads them.

    With ``Content-Length`` the decision needs no reading at all. Without it (a
    ``Transfer-Encoding: chunked`` request, which gunicorn de-chunks into ``wsgi.input``)
    Django would see no length and give views an empty body; so the body is read here,
    counting, up to one byte past the limit, and handed to Django as an ordinary body of
    known length. The webhook ingest route uses ``WEBHOOK_MAX_PAYLOAD_BYTES``; every
    other path ``API_MAX_BODY_BYTES``. Django's own lazy ``RequestDataTooBig`` (raised
    when a view reads ``request.POST``) is turned into 413 as well, never 400.

    The ingest route is the exception to answering here: its contract checks the rate
    limit and the webhook (429, 404, 410) before the size. An over-limit ingest request
    is passed on with ``request.body_over_limit = True`` and an empty body, so nothing
    downstream can read past the limit, and the view answers 413 after its own checks.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        limit = body_limit_for(request)
        declared = request.META.get("CONTENT_LENGTH")
        if declared not in (None, ""):
            try:
                length = int(str(declared))
            except ValueError:
                return error_response(400, "Content-Length is not a number.")
            if length > limit:
                return self._over_limit(request, limit, length)
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            if not request.META.get("wsgi.input_terminated"):
                # Reading would run into the next request on a keep-alive connection;
                # only servers that de-chunk (gunicorn) mark the input as terminated.
                return error_response(411, "A Content-Length header is required.")
            try:
                body = self._read_counting(request.META["wsgi.input"], limit)
            except Exception:  # noqa: BLE001  (a broken chunk or a client gone mid-body)
                return error_response(400, "The request body could not be read.")
            if body is None:
                return self._over_limit(request, limit)
            self._replace_body(request, body)
        return self.get_response(request)

    def _over_limit(self, request: HttpRequest, limit: int, declared: int | None = None) -> HttpResponseBase:
        if not is_webhook_ingest(request):
            return too_large_response(limit)
        request.body_over_limit = True  # type: ignore[attr-defined]
        # What the sender said it sent (None: chunked, counted to one byte past the limit),
        # for the webhook's refusal log; the body itself is never read.
        request.declared_body_length = declared  # type: ignore[attr-defined]
        self._replace_body(request, b"")
        return self.get_response(request)

    @staticmethod
    def _replace_body(request: HttpRequest, body: bytes) -> None:
        request.META["CONTENT_LENGTH"] = str(len(body))
        # Django's own request keeps a LimitedStream here too; the stubs say BinaryIO.
        request._stream = LimitedStream(io.BytesIO(body), len(body))  # type: ignore[assignment]

    @staticmethod
    def _read_counting(stream: Any, limit: int) -> bytes | None:
        """The whole body, or None as soon as it passes ``limit`` bytes."""
        parts: list[bytes] = []
        total = 0
        while True:
            chunk = stream.read(min(_READ_CHUNK, limit + 1 - total))
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)
            total += len(chunk)
            if total > limit:
                return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return error_response(413, "Request body is too large.")
        return None
