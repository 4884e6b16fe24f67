"""The refusal every rule raises: an HTTP status, a stable code and a sentence."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions


class RuleViolation(exceptions.APIException):
    """A request the domain refuses. The API answers ``status`` with
    ``{"detail": {"code": ..., "message": ..., **extra}, "request_id": ...}``."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        self.status_code = status
        self.code = code
        self.message = message
        self.extra = extra
        super().__init__(detail={"code": code, "message": message, **extra}, code=code)
        # APIException wraps strings in ErrorDetail; keep the plain values callers compare against.
        self.detail = {"code": code, "message": message, **extra}

    def __str__(self) -> str:
        return f"{self.status_code} {self.code}: {self.message}"
