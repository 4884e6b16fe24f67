"""The console's operations page: readiness, rate limits, the worker's queue and the last backup.

It shows what ``/readyz`` reports, in words, for the person on call. Everything here is
about the installation, not about any organization's data, so every signed-in person may
read it (``/readyz`` itself is open).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ops import probes, throttle
from ops.backups.state import last_success

CHECK_TITLES = {
    "database": ("Database", "Answers queries. Required: without it Mission Control is not ready."),
    "migrations": ("Migrations", "Every migration is applied. Required: run manage.py migrate otherwise."),
    "cache": ("Caches", "The shared cache and the rate-limit counters. When they fail, limits are not enforced."),
    "worker": ("Background worker", "Runs webhook deliveries (manage.py db_worker). Jobs wait while it is down."),
    "static": ("Static files", "The console's CSS and script, collected with cache-busting names "
                               "(manage.py collectstatic)."),
    "webhook_spool": ("Webhook spool", "Webhook requests accepted while the database was away, waiting to be "
                                       "stored. They drain by themselves once the database answers."),
    "backup": ("Backups", "When the last backup succeeded. Informational: schedule manage.py backup."),
}


def _checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, result in report["checks"].items():
        title, meaning = CHECK_TITLES.get(name, (name.replace("_", " ").capitalize(), ""))
        details = {key: value for key, value in result.items() if key not in ("ok", "status", "error", "caches")}
        rows.append({"name": name, "title": title, "meaning": meaning, "ok": result["ok"],
                     "status": result.get("status", "ok" if result["ok"] else "failing"),
                     "error": result.get("error", ""), "details": details})
    return rows


def _backup() -> dict[str, Any] | None:
    state = last_success()
    if state is None:
        return None
    created: datetime | None = parse_datetime(str(state.get("created_at", "")))
    return {"created_at": created, "path": state.get("path", ""), "size": state.get("size")}


@login_required
def operations(request: HttpRequest) -> HttpResponse:
    report = probes.readiness()
    worker = report["checks"].get("worker", {})
    cache = report["checks"].get("cache", {})
    context = {
        "nav": "operations",
        "ready": report["ok"],
        "checks": _checks(report),
        "rate_limit_backend": settings.RATE_LIMIT_BACKEND,
        "rate_limits": [{"scope": scope, "requests": count, "seconds": seconds}
                        for scope, (count, seconds) in settings.RATE_LIMITS.items()],
        "failing_open": throttle.is_failing_open(),
        "caches": cache.get("caches", {}),
        "worker": worker,
        "worker_last_activity": parse_datetime(worker["last_activity_at"]) if worker.get("last_activity_at")
        else None,
        "backup": _backup(),
        "environment": settings.ENVIRONMENT,
        "version": settings.APP_VERSION,
        "auth_mode": settings.AUTH_MODE,
        "now": timezone.now(),
    }
    return render(request, "ops/operations.html", context, status=200)


app_name = "ops_console"

urlpatterns = [
    path("operations/", operations, name="operations"),
]
