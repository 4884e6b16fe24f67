"""The time of the last successful backup, kept in a small file for the readiness probe.

A file rather than a table: a restore replaces the tables, and the probe should not
need a query to say when the last backup ran.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings

from ops.backups.manifest import write_durably


def state_path() -> Path:
    return Path(getattr(settings, "BACKUP_STATE_FILE", settings.VAR_DIR / "last-backup.json"))


def record_success(dump_path: Path, created_at: str, size: int) -> None:
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_durably(path, json.dumps({"created_at": created_at, "path": str(dump_path), "size": size}) + "\n")


def last_success() -> dict[str, Any] | None:
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "created_at" in data else None
