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


# A check's state as a word and a colour that says what it means: green only when nothing
# needs doing. An optional check that passes with a note (the backup check before the first
# backup) still asks for attention.
STATES = {"ok": ("Ok", "ok"), "degraded": ("Degraded", "warn"), "failing": ("Failing", "bad")}
NEEDS_ATTENTION = {"backup": "No backup"}


def duration_words(seconds: float) -> str:
    """``45 s``, ``3 min``, ``2 h 5 min``, ``4 days``: a duration as a person says it."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days = hours // 24
    return f"{days} day{'' if days == 1 else 's'}"


def _state(name: str, result: dict[str, Any], status: str) -> tuple[str, str]:
    if status == "ok" and result.get("note"):
        return NEEDS_ATTENTION.get(name, "Needs attention"), "warn"
    return STATES.get(status, (status.replace("_", " ").capitalize(), "bad"))


def _detail(key: str, value: Any, result: dict[str, Any]) -> dict[str, Any] | None:
    """One fact of a check, labelled and worded for a person; None to leave it out."""
    if key.endswith("age_seconds"):
        moment = key[:-len("age_seconds")].rstrip("_")
        if not moment or f"{moment}_at" in result:
            return None  # the time itself is shown, in words
        label = moment.replace("_", " ").capitalize()
        return {"label": label, "text": "none" if value is None else f"{duration_words(float(value))} ago"}
    label = key.removesuffix("_at").replace("_", " ").capitalize()
    if key.endswith("_at"):
        when = parse_datetime(str(value)) if value else None
        return {"label": label, "when": when, "text": "never" if when is None else ""}
    if key.endswith("_seconds") and isinstance(value, int | float):
        return {"label": label.removesuffix(" seconds"), "text": duration_words(float(value))}
    if key.endswith("_ms") and isinstance(value, int | float):
        return {"label": label.removesuffix(" ms"), "text": f"{value:.0f} ms"}
    if key == "size" and isinstance(value, int):
        return {"label": label, "size": value}
    if isinstance(value, bool):
        return {"label": label, "text": "yes" if value else "no"}
    if isinstance(value, list | tuple):
        shown = ", ".join(str(item) for item in value[:5])
        return {"label": label, "text": shown + (f" and {len(value) - 5} more" if len(value) > 5 else "") or "none"}
    if isinstance(value, dict):
        return None
    return {"label": label, "text": "—" if value is None else str(value), "mono": key in ("path", "error")}


def _checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, result in report["checks"].items():
        title, meaning = CHECK_TITLES.get(name, (name.replace("_", " ").capitalize(), ""))
        status = result.get("status", "ok" if result["ok"] else "failing")
        word, colour = _state(name, result, status)
        details = [detail for key, value in result.items()
                   if key not in ("ok", "status", "error", "caches", "note")
                   and (detail := _detail(key, value, result)) is not None]
        rows.append({"name": name, "title": title, "meaning": meaning, "ok": result["ok"], "status": status,
                     "state": word, "colour": colour, "note": result.get("note", ""),
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
        "oldest_waiting": duration_words(float(worker["oldest_ready_job_age_seconds"]))
        if worker.get("oldest_ready_job_age_seconds") is not None else None,
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
