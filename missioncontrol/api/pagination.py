"""The one list envelope of the API: ``{items, total, limit, offset}``."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

DEFAULT_LIMIT = 200
MAX_LIMIT = 200
# Far beyond any real list, and small enough for every database's OFFSET (a bigint).
MAX_OFFSET = 10**9


def parse_paging(request: Request) -> tuple[int, int]:
    """``limit`` and ``offset`` from the query string; bad values are 422, never clamped."""
    errors: dict[str, str] = {}
    values = {"limit": DEFAULT_LIMIT, "offset": 0}
    for name in values:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            continue
        try:
            values[name] = int(raw)
        except ValueError:
            errors[name] = f"{name} must be a whole number."
    if "limit" not in errors and not 1 <= values["limit"] <= MAX_LIMIT:
        errors["limit"] = f"limit must be between 1 and {MAX_LIMIT}."
    if "offset" not in errors and not 0 <= values["offset"] <= MAX_OFFSET:
        errors["offset"] = f"offset must be between 0 and {MAX_OFFSET}."
    if errors:
        raise ValidationError(errors)
    return values["limit"], values["offset"]


class LimitOffsetEnvelopePagination(BasePagination):
    """Paginates a queryset with ``limit``/``offset`` and wraps it in the list envelope."""

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        self.limit, self.offset = parse_paging(request)
        self.total = queryset.count() if hasattr(queryset, "count") and not isinstance(queryset, list) else len(queryset)
        return list(queryset[self.offset:self.offset + self.limit])

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"items": data, "total": self.total, "limit": self.limit, "offset": self.offset})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["items", "total", "limit", "offset"],
            "properties": {
                "items": schema,
                "total": {"type": "integer"},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {"name": "limit", "required": False, "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
            {"name": "offset", "required": False, "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}},
        ]
