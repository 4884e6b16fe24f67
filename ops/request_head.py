"""Limits on the request line and headers, answered in the error envelope.

gunicorn checks the same three things (``limit_request_line``, ``limit_request_fields``,
``limit_request_field_size``) before the application runs, but answers with a bare HTML
page that no setting can change. ``gunicorn.conf.py`` therefore sets its limits above
these ones: a request over ours and under gunicorn's reaches this middleware and gets
the JSON a client can read. Only requests past gunicorn's own, higher limits (and ones
gunicorn cannot parse at all) still get its page; docs/operations.md lists them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase

from ops.errors import error_response, wants_json_errors

# gunicorn's defaults, which clients met before: the longest request line, the most header
# fields and the longest header field ("Name: value") a request may have.
MAX_REQUEST_LINE = 4094
MAX_HEADER_FIELDS = 100
MAX_HEADER_FIELD_SIZE = 8190
# The WSGI keys that came from header fields without an HTTP_ prefix.
_UNPREFIXED_HEADERS = {"CONTENT_TYPE": "Content-Type", "CONTENT_LENGTH": "Content-Length"}

URI_TOO_LONG = f"The request line is longer than {MAX_REQUEST_LINE} bytes: send less in the query string."
TOO_MANY_FIELDS = f"The request has more than {MAX_HEADER_FIELDS} header fields."
FIELD_TOO_LARGE = f"A request header field is longer than {MAX_HEADER_FIELD_SIZE} bytes."


def request_line_length(meta: dict[str, object]) -> int:
    """``METHOD target HTTP/x.y`` as the client sent it (``RAW_URI`` under gunicorn)."""
    target = meta.get("RAW_URI")
    if not isinstance(target, str):
        query = str(meta.get("QUERY_STRING") or "")
        target = str(meta.get("PATH_INFO") or "/") + ("?" + query if query else "")
    return len(f"{meta.get('REQUEST_METHOD', '')} {target} {meta.get('SERVER_PROTOCOL', 'HTTP/1.1')}".encode(
        "latin-1", "replace"))


def header_fields(meta: dict[str, object]) -> list[tuple[str, str]]:
    fields = []
    for key, value in meta.items():
        if key.startswith("HTTP_"):
            fields.append((key[5:].replace("_", "-").title(), str(value)))
        elif key in _UNPREFIXED_HEADERS:
            fields.append((_UNPREFIXED_HEADERS[key], str(value)))
    return fields


def head_problem(meta: dict[str, object]) -> tuple[int, str] | None:
    """The status and sentence for a request line or headers over the limits, or None."""
    if request_line_length(meta) > MAX_REQUEST_LINE:
        return 414, URI_TOO_LONG
    fields = header_fields(meta)
    if len(fields) > MAX_HEADER_FIELDS:
        return 431, TOO_MANY_FIELDS
    # A repeated header arrives joined by commas; gunicorn measures each line, so this
    # may refuse a little earlier than it would, never later.
    if any(len(name) + 2 + len(value) > MAX_HEADER_FIELD_SIZE for name, value in fields):
        return 431, FIELD_TOO_LARGE
    return None


class RequestHeadLimitMiddleware:
    """Answers 414 and 431 in the error envelope (plain text off the API), so a client
    whose request is too long learns why in the format it reads."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        problem = head_problem(request.META)
        if problem is not None:
            status, sentence = problem
            if wants_json_errors(request):
                return error_response(status, sentence)
            return HttpResponse(sentence, status=status, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
