"""Liveness and readiness probes (placeholder; the full readiness checks replace this)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def readyz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, "checks": {}})
