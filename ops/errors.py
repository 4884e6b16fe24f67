"""The one error envelope: ``{"detail": ..., "request_id": ...}`` as JSON.

Middleware and Django's error handlers use it directly; DRF views reach it through
``missioncontrol.api.errors.exception_handler``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from ops.request_context import get_request_id

JSON_ERROR_PREFIXES = ("/api/", "/healthz", "/readyz", "/openapi.json")


def wants_json_errors(request: HttpRequest) -> bool:
    """API, probe and schema paths never answer with an HTML page."""
    return request.path.startswith(JSON_ERROR_PREFIXES)


def error_body(detail: Any) -> dict[str, Any]:
    return {"detail": detail, "request_id": get_request_id()}


def error_response(status: int, detail: Any, headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse(error_body(detail), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response
