"""The time of the last successful backup, kept in a small file for the readiness probe.

A file rather than a table: a restore replaces the tables, and the probe should not
need a query to say when the last backup ran. The file names the database it speaks
for: the folder can outlive a change of DATABASE_URL (or be written by a benchmark of
another database), and a backup of another database protects nothing here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings

from ops.backups.manifest import write_durably
from ops.backups.target import SQLITE, DatabaseTarget, target_for


def state_path() -> Path:
    return Path(getattr(settings, "BACKUP_STATE_FILE", settings.VAR_DIR / "last-backup.json"))


def database_identity(target: DatabaseTarget) -> dict[str, str]:
    """Which database a backup is of: never the user or password."""
    name = os.path.realpath(target.name) if target.engine == SQLITE else target.name
    return {"engine": target.engine, "name": name, "host": target.host, "port": target.port}


def record_success(dump_path: Path, created_at: str, size: int, target: DatabaseTarget | None = None) -> None:
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    database = database_identity(target or target_for())
    write_durably(path, json.dumps({"created_at": created_at, "path": str(dump_path), "size": size,
                                    "database": database}) + "\n")


def last_success() -> dict[str, Any] | None:
    """The last backup of the configured database; a marker of another one (or of none
    named) counts as no backup."""
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "created_at" not in data:
        return None
    return data if data.get("database") == database_identity(target_for()) else None
