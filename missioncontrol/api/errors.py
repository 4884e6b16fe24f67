"""Turns every API error into the ``{detail, request_id}`` envelope.

DRF's exceptions pass through ``exception_handler``; errors raised outside DRF (unknown
URL, unhandled exception, a body too large detected lazily) go through the Django error
handlers below, which answer JSON on API paths and the console's pages elsewhere.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, UnreadablePostError
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from ops import database_outage
from ops.errors import error_body, error_response, wants_json_errors

logger = logging.getLogger(__name__)

VALIDATION_STATUS = status.HTTP_422_UNPROCESSABLE_ENTITY


class Unprocessable(exceptions.APIException):
    """A well-formed request whose content breaks a rule (422)."""

    status_code = VALIDATION_STATUS
    default_detail = "The request could not be processed."
    default_code = "unprocessable"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large."
    default_code = "payload_too_large"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    if not isinstance(exc, exceptions.APIException):
        return None  # Django's handler500 logs it and answers the envelope.

    headers: dict[str, str] = {}
    auth_header, wait = getattr(exc, "auth_header", None), getattr(exc, "wait", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    if wait is not None:
        headers["Retry-After"] = str(max(1, int(wait + 0.999)))

    status_code = exc.status_code
    if isinstance(exc, exceptions.ValidationError):
        status_code = VALIDATION_STATUS
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        status_code = status.HTTP_401_UNAUTHORIZED
    set_rollback()
    return Response(error_body(exc.detail), status=status_code, headers=headers)


PLAIN_PAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "You may not do this."),
    404: ("Not found", "There is nothing here, or it is not yours to see."),
    500: ("Something went wrong", "The error is logged with its request id. Try again in a moment."),
}
_logged_fallbacks: set[int] = set()


def forget_logged_fallbacks() -> None:
    """Tests want to see the next fallback logged again."""
    _logged_fallbacks.clear()


def _plain_page(status_code: int) -> HttpResponse:
    title, sentence = PLAIN_PAGES[status_code]
    html = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · Mission Control"
            f"</title></head><body><h1>{title}</h1><p>{sentence}</p><p><a href=\"/\">Go to the dashboard</a></p>"
            "</body></html>")
    return HttpResponse(html, status=status_code, content_type="text/html; charset=utf-8")


def _page(status_code: int, render: Callable[[], HttpResponse]) -> HttpResponse:
    """The console's error page, or a plain one when that page cannot render.

    The pages use the console layout and its static files; without ``collectstatic`` the
    manifest storage raises on every ``{% static %}``, and an error inside the 500
    handler would leave the client with the server's bare error page and no request id."""
    try:
        return render()
    except Exception:
        if status_code not in _logged_fallbacks:
            # Once per kind of page: an unknown URL hit in a loop must not flood the log.
            _logged_fallbacks.add(status_code)
            logger.warning("The %s page could not render; answering a plain page instead (is the "
                           "staticfiles manifest missing? run manage.py collectstatic)", status_code,
                           exc_info=True)
        return _plain_page(status_code)


def bad_request(request: HttpRequest, exception: Exception, template_name: str = "400.html") -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        # Django files an oversized body under "bad request"; the client needs to know
        # the size is the problem, on every path.
        return error_response(413, "Request body is too large.")
    if wants_json_errors(request):
        return error_response(400, "Bad request.")
    return _page(400, lambda: defaults.bad_request(request, exception))


def permission_denied(request: HttpRequest, exception: Exception, template_name: str = "403.html") -> HttpResponse:
    if wants_json_errors(request):
        return error_response(403, "You do not have permission to perform this action.")
    return _page(403, lambda: defaults.permission_denied(request, exception))


def page_not_found(request: HttpRequest, exception: Exception, template_name: str = "404.html") -> HttpResponse:
    if wants_json_errors(request):
        return error_response(404, "Not found.")
    return _page(404, lambda: defaults.page_not_found(request, exception))


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    # Called while the exception is being handled. A database that went away is an outage,
    # not a bug: 503 with Retry-After and no traceback (ops.database_outage).
    exc = sys.exc_info()[1]
    if database_outage.is_unavailable(exc):
        assert exc is not None
        database_outage.outage.noticed(exc)
        return database_outage.unavailable_response(request)
    if isinstance(exc, UnreadablePostError):
        # The client stopped sending its body (or ran out of the server's read deadline):
        # its fault, and nothing to debug.
        logger.warning("Request body could not be read: %s %s (%s)", request.method, request.path, exc)
        response = (error_response(400, "The request body could not be read.") if wants_json_errors(request)
                    else _plain_page(400))
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response
    # Django logs the traceback on django.request with the request id once this returns.
    if wants_json_errors(request):
        return error_response(500, "Internal server error.")
    return _page(500, lambda: defaults.server_error(request))
