"""Liveness (``/healthz``) and readiness (``/readyz``) probes.

Liveness touches nothing: it answers as long as the process can serve a request, so an
orchestrator restarts only a process that is truly stuck. Readiness asks the question
"should traffic come here?": it runs a real query and looks for unapplied migrations
(both required), and reports the caches, the background worker and the collected static
files, which degrade the service but do not stop it.

Other parts of the system add their own informational checks with ``register_check``;
the console's operations page shows ``readiness()`` as it is.

A probe must stay cheap when a dependency hangs rather than refuses (a Redis stopped by
SIGSTOP answers nothing until each socket timeout), since every probe holds a sync
worker that ingest needs. Three things bound its cost:

- a circuit breaker per check, like the throttle's: a check that fails slowly is not run
  again for ``RETRY_SLOW_FAILURE_SECONDS``; meanwhile its last failure is reported with
  ``skipped: true``. A fast failure (connection refused) costs nothing and is retried on
  every probe, so recovery shows at once;
- a time budget for one readiness report (``BUDGET_SECONDS``): once spent, the remaining
  checks are reported as skipped instead of run;
- ``/readyz`` answers from a report at most ``ANSWER_MAX_AGE_SECONDS`` old, and while one
  thread of the process computes a new one, others answer with the previous one rather
  than queue behind it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django_redis.cache import RedisCache

from ops import throttle
from ops.errors import error_response

logger = logging.getLogger("ops.probes")

CheckResult = dict[str, Any]
CheckFunction = Callable[[], CheckResult]

# "No migration pending" stays true until the next deploy; asking the migration loader
# (it imports every migration file) on each probe would cost more than the probe itself.
MIGRATIONS_OK_CACHE_SECONDS = 30.0

# A failure slower than this opens the check's breaker for RETRY_SLOW_FAILURE_SECONDS.
SLOW_FAILURE_SECONDS = 0.25
RETRY_SLOW_FAILURE_SECONDS = 15.0
# Well under the usual 5-10 s probe interval, and above the database's usual answer.
BUDGET_SECONDS = 1.5
# Load balancers probing each worker every second share one report per process this long.
ANSWER_MAX_AGE_SECONDS = 2.0


@dataclass(frozen=True)
class ReadinessCheck:
    name: str
    run: CheckFunction
    required: bool
    needs_database: bool


_checks: dict[str, ReadinessCheck] = {}
_lock = threading.Lock()
# Check name -> (monotonic time of its slow failure, the failure it reported).
_open_breakers: dict[str, tuple[float, CheckResult]] = {}


def register_check(name: str, func: CheckFunction, *, required: bool = False,
                   needs_database: bool = False) -> None:
    """Add (or replace) a readiness check.

    ``func`` returns a dict with at least ``ok``; anything else is shown as is. A failing
    check that is not ``required`` shows as degraded without failing the probe. Checks
    that ``needs_database`` are skipped when the database does not answer, so a dead
    database costs one connection timeout, not one per check.
    """
    with _lock:
        _checks[name] = ReadinessCheck(name, func, required, needs_database)


def unregister_check(name: str) -> None:
    with _lock:
        _checks.pop(name, None)


def short_error(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _run_check(check: ReadinessCheck) -> CheckResult:
    """One check, through its breaker."""
    now = time.monotonic()
    with _lock:
        breaker = _open_breakers.get(check.name)
    if breaker is not None and now - breaker[0] < RETRY_SLOW_FAILURE_SECONDS:
        return {**breaker[1], "skipped": True,
                "retry_in_seconds": round(RETRY_SLOW_FAILURE_SECONDS - (now - breaker[0]), 1)}
    started = time.monotonic()
    try:
        result = dict(check.run())
    except Exception as exc:  # noqa: BLE001  (a probe reports failures, it never raises)
        logger.warning("Readiness check %s failed: %s", check.name, short_error(exc))
        result = {"ok": False, "error": short_error(exc)}
    took = time.monotonic() - started
    with _lock:
        if result.get("ok"):
            _open_breakers.pop(check.name, None)
        elif took >= SLOW_FAILURE_SECONDS:
            if check.name not in _open_breakers:
                logger.warning("Readiness check %s failed after %.1fs; not running it again for %.0fs.",
                               check.name, took, RETRY_SLOW_FAILURE_SECONDS)
            _open_breakers[check.name] = (time.monotonic(), result)
    return result


def readiness() -> dict[str, Any]:
    """Run every check: ``{"ok": bool, "checks": {name: {"ok": bool, "status": ..., ...}}}``."""
    results: dict[str, CheckResult] = {}
    database_ok = True
    started = time.monotonic()
    with _lock:
        checks = list(_checks.values())
    for check in checks:
        if check.needs_database and not database_ok:
            result: CheckResult = {"ok": False, "error": "Skipped: the database does not answer."}
        elif time.monotonic() - started >= BUDGET_SECONDS:
            result = {"ok": False, "skipped": True,
                      "error": f"Skipped: this report's time budget ({BUDGET_SECONDS}s) was spent on slower checks."}
        else:
            result = _run_check(check)
        result["ok"] = bool(result.get("ok"))
        result["status"] = "ok" if result["ok"] else ("failing" if check.required else "degraded")
        if check.name == "database" and not result["ok"]:
            database_ok = False
        results[check.name] = result
    ok = all(results[check.name]["ok"] for check in checks if check.required)
    return {"ok": ok, "checks": results}


class _RecentAnswer:
    """The last ``/readyz`` report of this process, and who is computing the next one."""

    def __init__(self) -> None:
        self.computing = threading.Lock()
        self.report: dict[str, Any] | None = None
        self.at = 0.0

    def get(self) -> dict[str, Any]:
        if self.report is not None and time.monotonic() - self.at < ANSWER_MAX_AGE_SECONDS:
            return self.report
        if not self.computing.acquire(blocking=self.report is None):
            return self.report or readiness()  # another thread is on it; the last answer will do
        try:
            self.report, self.at = readiness(), time.monotonic()
            return self.report
        finally:
            self.computing.release()

    def forget(self) -> None:
        self.report, self.at = None, 0.0


recent_answer = _RecentAnswer()


# --- built-in checks --------------------------------------------------------------------

def check_database() -> CheckResult:
    connection = connections[DEFAULT_DB_ALIAS]
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        # A broken connection must not be reused by the next probe in this thread.
        connection.close_if_unusable_or_obsolete()
        return {"ok": False, "vendor": connection.vendor, "error": short_error(exc)}
    return {"ok": True, "vendor": connection.vendor, "ms": round((time.perf_counter() - started) * 1000, 1)}


_migrations_ok_until = 0.0


def check_migrations() -> CheckResult:
    global _migrations_ok_until
    if time.monotonic() < _migrations_ok_until:
        return {"ok": True, "pending": 0}
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
        return {"ok": False, "pending": len(names), "migrations": names[:20],
                "error": f"{len(names)} migration(s) not applied; run manage.py migrate."}
    _migrations_ok_until = time.monotonic() + MIGRATIONS_OK_CACHE_SECONDS
    return {"ok": True, "pending": 0}


def forget_cached_answers() -> None:
    """Tests, and code that just migrated, want the next probe to look again."""
    global _migrations_ok_until
    _migrations_ok_until = 0.0
    with _lock:
        _open_breakers.clear()
    recent_answer.forget()


def _cache_backend_name(cache: Any) -> str:
    module = type(cache).__module__
    if module.startswith("django_redis"):
        return "redis"
    if "locmem" in module:
        return "memory"
    return type(cache).__name__


def _probe_cache(alias: str) -> CheckResult:
    cache = caches[alias]
    backend = _cache_backend_name(cache)
    try:
        if isinstance(cache, RedisCache):
            # A real round trip: the default cache ignores Redis errors, so get/set would lie.
            cache.client.get_client(write=True).ping()
        else:
            cache.set("ops:readyz", "1", 5)
            if cache.get("ops:readyz") != "1":
                return {"ok": False, "backend": backend, "error": "The cache did not return what was stored."}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "backend": backend, "error": short_error(exc)}
    return {"ok": True, "backend": backend}


def check_cache() -> CheckResult:
    aliases = {"default": _probe_cache("default"), throttle.CACHE_ALIAS: _probe_cache(throttle.CACHE_ALIAS)}
    aliases[throttle.CACHE_ALIAS]["rate_limits_fail_open"] = throttle.is_failing_open()
    errors = [f"{alias}: {result['error']}" for alias, result in aliases.items() if not result["ok"]]
    if throttle.is_failing_open() and aliases[throttle.CACHE_ALIAS]["ok"]:
        # The ping works again but no request has proven it yet; still worth showing.
        errors.append(f"{throttle.CACHE_ALIAS}: recent failures ({throttle.outage.last_error}); "
                      "rate limits are not enforced.")
    result: CheckResult = {"ok": not errors, "caches": aliases}
    if errors:
        result["error"] = "; ".join(errors)
    return result


def _age_seconds(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else round(max(0.0, (now - moment).total_seconds()), 1)


def check_worker() -> CheckResult:
    """Is the background worker keeping up? Judged from the job table (django-tasks-db)."""
    from django.db.models import Max
    from django_tasks_db.models import DBTaskResult, get_date_max

    now = timezone.now()
    activity = DBTaskResult.objects.aggregate(started=Max("started_at"), finished=Max("finished_at"))
    moments = [moment for moment in activity.values() if moment is not None]
    last_activity = max(moments) if moments else None

    ready = DBTaskResult.objects.ready()
    # A job is waiting since it was enqueued, or since its run_after for a delayed (retried) job.
    oldest_immediate = ready.filter(run_after=get_date_max()).order_by("enqueued_at").values_list(
        "enqueued_at", flat=True).first()
    oldest_delayed = ready.exclude(run_after=get_date_max()).order_by("run_after").values_list(
        "run_after", flat=True).first()
    waiting_since = min((m for m in (oldest_immediate, oldest_delayed) if m is not None), default=None)
    oldest_age = _age_seconds(waiting_since, now)

    stale_after = settings.WORKER_HEARTBEAT_STALE_SECONDS
    result: CheckResult = {
        "ok": True,
        "last_activity_at": last_activity.isoformat() if last_activity else None,
        "last_activity_age_seconds": _age_seconds(last_activity, now),
        "oldest_ready_job_age_seconds": oldest_age,
        "ready_jobs": ready.count(),
    }
    from ops.worker import jobs_of_gone_workers, live_worker_ids

    live = live_worker_ids(now)
    result["live_workers"] = len(live)
    stuck = len(jobs_of_gone_workers(now, live=live))
    result["stuck_jobs"] = stuck
    if oldest_age is not None and oldest_age >= stale_after:
        result["ok"] = False
        result["error"] = (f"A job has waited {oldest_age:.0f}s (over {stale_after}s); "
                           "is the worker (manage.py db_worker) running?")
    elif result["ready_jobs"] and not live:
        # Waiting jobs with no worker to take them: nothing will run until one starts, however
        # young the jobs are. Degraded, since ingest keeps storing (the probe stays up).
        result["ok"] = False
        result["error"] = (f"{result['ready_jobs']} job(s) waiting and no worker has a heartbeat in the last "
                           f"{settings.WORKER_GONE_AFTER_SECONDS}s; is the worker (manage.py db_worker) running?")
    elif stuck:
        result["ok"] = False
        result["error"] = (f"{stuck} job(s) left running by a worker that is gone (no heartbeat for "
                           f"{settings.WORKER_GONE_AFTER_SECONDS}s); a running db_worker returns them to the queue"
                           + ("." if result["live_workers"] else ", and none is running."))
    return result


def static_manifest_missing() -> bool | None:
    """Whether ``collectstatic``'s manifest is missing; None for a storage that needs none."""
    from django.contrib.staticfiles.storage import ManifestFilesMixin
    from django.core.files.storage import storages

    storage = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin):
        return None
    return not storage.manifest_storage.exists(storage.manifest_name)


def check_static() -> CheckResult:
    """Every console page links its CSS through the manifest; without it they cannot render."""
    missing = static_manifest_missing()
    if missing is None:
        return {"ok": True, "manifest": False}
    if missing:
        return {"ok": False, "manifest": True,
                "error": "The staticfiles manifest is missing, so console pages cannot render; "
                         "run manage.py collectstatic."}
    return {"ok": True, "manifest": True}


register_check("database", check_database, required=True)
register_check("migrations", check_migrations, required=True, needs_database=True)
register_check("cache", check_cache)
register_check("worker", check_worker, needs_database=True)
register_check("static", check_static)


# --- views -----------------------------------------------------------------------------

_PROBE_METHODS = ("GET", "HEAD")


def _method_not_allowed() -> JsonResponse:
    return error_response(405, "Method not allowed; use GET.", headers={"Allow": ", ".join(_PROBE_METHODS)})


def _probe_response(request: HttpRequest, body: dict[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    if request.method == "HEAD":
        # Django leaves HEAD bodies to the server; gunicorn drops them but logs a warning
        # each time, and a load balancer checking with HEAD would fill the log.
        response.content = b""
    return response


# Probes change nothing and carry no session: the CSRF check would answer a POST with a
# misleading 403 before the view could say 405.
@csrf_exempt
def healthz(request: HttpRequest) -> JsonResponse:
    if request.method not in _PROBE_METHODS:
        return _method_not_allowed()
    return _probe_response(request, {"ok": True})


@csrf_exempt
def readyz(request: HttpRequest) -> JsonResponse:
    if request.method not in _PROBE_METHODS:
        return _method_not_allowed()
    report = recent_answer.get()
    return _probe_response(request, report, status=200 if report["ok"] else 503)
