"""Request middleware (placeholder pass-throughs; the full versions replace these)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

Handler = Callable[[HttpRequest], HttpResponse]


class _PassThrough:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)


class RequestIdMiddleware(_PassThrough):
    pass


class RequestTimingMiddleware(_PassThrough):
    pass


class BodySizeLimitMiddleware(_PassThrough):
    pass


class ClientIpMiddleware(_PassThrough):
    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.client_ip = request.META.get("REMOTE_ADDR", "")  # type: ignore[attr-defined]
        return self.get_response(request)
