"""The ``backup`` entry of /readyz: when the last backup succeeded. Informational only: a
missing backup is the operator's schedule to fix, not a reason to take traffic away."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from ops.backups.state import last_success
from ops.probes import CheckResult, register_check


def check_backup() -> CheckResult:
    state = last_success()
    if state is None:
        return {"ok": True, "last_success_at": None, "note": "No backup recorded; schedule manage.py backup."}
    result: CheckResult = {"ok": True, "last_success_at": state["created_at"],
                           "size": state.get("size")}
    try:
        moment = datetime.fromisoformat(str(state["created_at"]).replace("Z", "+00:00"))
    except ValueError:
        return result
    result["age_seconds"] = round(max(0.0, (timezone.now() - moment).total_seconds()))
    return result


def register() -> None:
    register_check("backup", check_backup)
