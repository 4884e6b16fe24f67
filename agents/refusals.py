"""The refusal every rule raises: an HTTP status, a stable code and a sentence."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions


class RuleViolation(exceptions.APIException):
    """A request the domain refuses. The API answers ``status`` with
    ``{"detail": {"code": ..., "message": ..., **extra}, "request_id": ...}``.

    A 422 about one input (``field=...``) also carries the sentence under that field's
    name, where clients of a validation error look for it: ``{"title": ["..."]}``."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        self.status_code = status
        self.code = code
        self.message = message
        self.extra = extra
        detail: dict[str, Any] = {"code": code, "message": message, **extra}
        field = extra.get("field")
        if status == 422 and isinstance(field, str) and field not in detail:
            detail[field] = [message]
        super().__init__(detail=detail, code=code)
        # APIException wraps strings in ErrorDetail; keep the plain values callers compare against.
        self.detail = detail

    @property
    def field(self) -> str | None:
        field = self.extra.get("field")
        return field if isinstance(field, str) else None

    def __str__(self) -> str:
        return f"{self.status_code} {self.code}: {self.message}"
