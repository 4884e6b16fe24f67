"""The gateway check job: run the staged check, judge the version and the features, keep the report.

Features come first: a gateway that offers every method Mission Control calls is usable
whatever its version says; the version (from ``hello-ok``, else ``config.get``'s
``meta.lastTouchedVersion``) is held against ``GATEWAY_MIN_VERSION`` as well.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agents import activity
from agents.gateway.check import CheckReport, check_gateway
from agents.gateway.compatibility import parse_version
from agents.gateway.connect import endpoint_of
from agents.gateway.device import installation_identity
from agents.models import Agent, Gateway

# Every method provisioning, cleanup and the console call.
REQUIRED_METHODS = frozenset({
    "agents.create", "agents.delete", "agents.list", "agents.files.list", "agents.files.get", "agents.files.set",
    "config.get", "config.patch", "chat.send", "chat.history", "sessions.list", "sessions.delete",
})


def _version(text: str) -> Any:
    try:
        return parse_version(text) if text else None
    except ValueError:
        return None


def report_dict(report: CheckReport) -> dict[str, Any]:
    """The check as the gateway row keeps it (JSON)."""
    return {
        "ok": report.ok, "failed_stage": report.failed_stage, "checked_at": report.checked_at.isoformat(),
        "server_version": report.server_version, "protocol": report.protocol, "methods": sorted(report.methods),
        "granted_scopes": sorted(report.granted_scopes), "config_version": report.config_version,
        "stages": [{"name": stage.name, "ok": stage.ok, "duration_ms": round(stage.duration_ms, 1),
                    "detail": stage.detail, "error": stage.error, "hint": stage.hint, "code": stage.code,
                    "retryable": stage.retryable}
                   for stage in report.stages],
    }


def judge(report: dict[str, Any]) -> dict[str, Any]:
    """Adds the ``features`` and ``version`` stages to a passed check (each may fail it)."""
    if not report.get("ok"):
        return report
    stages = list(report.get("stages", []))
    missing = sorted(REQUIRED_METHODS - set(report.get("methods") or []))
    features = {"name": "features", "ok": not missing, "duration_ms": 0.0,
                "detail": f"{len(report.get('methods') or [])} methods offered"}
    if missing:
        features.update(error=f"The gateway does not offer {', '.join(missing)}, which Mission Control calls.",
                        hint="Upgrade OpenClaw on the gateway host (npm install -g openclaw@latest).")
    stages.append(features)
    version = report.get("server_version") or report.get("config_version") or ""
    minimum = settings.GATEWAY_MIN_VERSION
    parsed = _version(version)
    version_stage: dict[str, Any] = {"name": "version", "ok": True, "duration_ms": 0.0,
                                     "detail": f"OpenClaw {version or 'of unknown version'}, protocol {report.get('protocol')}"}
    if parsed is not None and parsed < parse_version(minimum):
        version_stage.update(ok=False, error=f"OpenClaw {version} is older than {minimum}, the oldest this "
                             "Mission Control supports.", hint="Upgrade OpenClaw on the gateway host.")
    elif parsed is None and missing:
        version_stage.update(detail="The gateway did not say its version.")
    stages.append(version_stage)
    failed = next((stage for stage in stages if not stage.get("ok")), None)
    return {**report, "stages": stages, "ok": failed is None,
            "failed_stage": failed["name"] if failed else None, "version": version}


# A check that fails for a reason that passes by itself (the gateway restarting, still
# starting) runs again this much later, this many times, before the failure stands.
RECHECK_AFTER_SECONDS = 5.0
MAX_RECHECKS = 3


def run(gateway_id: str, attempt: int = 1) -> str:
    from agents.gateway import tasks

    gateway = Gateway.objects.filter(pk=gateway_id).first()
    if gateway is None:
        return "gone"
    report = judge(report_dict(check_gateway(endpoint_of(gateway), installation_identity())))
    failed_stage = next((stage for stage in report["stages"] if not stage.get("ok")), None)
    if failed_stage is not None and failed_stage.get("retryable") and attempt <= MAX_RECHECKS:
        tasks.enqueue_check(gateway, attempt=attempt + 1,
                            run_after=timezone.now() + timedelta(seconds=RECHECK_AFTER_SECONDS))
        report["recheck"] = attempt + 1
    now = timezone.now()
    status = (Gateway.CheckStatus.OK if report["ok"] else
              Gateway.CheckStatus.CHECKING if report.get("recheck") else Gateway.CheckStatus.FAILED)
    with transaction.atomic():
        Gateway.objects.filter(pk=gateway.pk).update(
            check_status=status, checked_at=now, check_report=report, server_version=report.get("version") or "",
            protocol=report.get("protocol"), methods=sorted(report.get("methods") or []))
        failed = report.get("failed_stage")
        activity.record("gateway.checked", actor=None, organization=gateway.organization_id,
                        message=(f"Gateway {gateway.name} answered the check." if report["ok"] else
                                 f"Gateway {gateway.name} failed its check at {failed}: "
                                 f"{_error_of(report, failed)}"
                                 + (" It is checked again in a few seconds." if report.get("recheck") else "")),
                        data={"gateway_id": str(gateway.pk), "ok": report["ok"], "failed_stage": failed,
                              "version": report.get("version"), "protocol": report.get("protocol")})
        if report["ok"]:
            _resume_agents(gateway)
    return "ok" if report["ok"] else f"failed at {report.get('failed_stage')}"


def _error_of(report: dict[str, Any], stage_name: str | None) -> str:
    for stage in report.get("stages", []):
        if stage.get("name") == stage_name:
            return str(stage.get("error") or "")
    return ""


def _resume_agents(gateway: Gateway) -> None:
    """A gateway that answers again: its agents that failed waiting for it start over now."""
    from agents.gateway import lifecycle

    for agent in Agent.objects.filter(gateway=gateway, lifecycle_status=Agent.Lifecycle.ERROR):
        lifecycle.request_provisioning(agent)
