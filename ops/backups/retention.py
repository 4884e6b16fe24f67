"""Which old backups to delete: keep the newest N and/or those younger than a maximum age."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ops.backups.manifest import MANIFEST_SUFFIX

BACKUP_PREFIX = "missioncontrol-"
_STAMP = re.compile(r"^missioncontrol-(\d{8}T\d{6}Z)(?:-(\d+))?\.(dump|sqlite3)$")
_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """``7d``, ``12h``, ``30m``, ``2w``, ``90s``."""
    match = _AGE.match(text.lower())
    if not match or int(match[1]) == 0:
        raise ValueError(f"{text!r} is not an age; write a number and a unit, for example 7d, 12h or 30m.")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


@dataclass(frozen=True)
class StoredBackup:
    dump: Path
    created: datetime
    sequence: int = 0

    @property
    def manifest(self) -> Path:
        return self.dump.with_name(self.dump.name + MANIFEST_SUFFIX)


def stored_backups(directory: Path) -> list[StoredBackup]:
    """Backups made by this command in ``directory``, newest first (other files are ignored)."""
    found = []
    for path in directory.iterdir():
        match = _STAMP.match(path.name)
        if match and path.is_file():
            created = datetime.strptime(match[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            found.append(StoredBackup(path, created, int(match[2] or 0)))
    return sorted(found, key=lambda backup: (backup.created, backup.sequence), reverse=True)


def expired(backups: list[StoredBackup], *, keep: int | None, max_age: timedelta | None,
            now: datetime, protect: Path) -> list[StoredBackup]:
    """Backups outside the policy. ``protect`` (the one just made) is never expired."""
    doomed = []
    for index, backup in enumerate(backups):
        if backup.dump == protect:
            continue
        too_many = keep is not None and index >= keep
        too_old = max_age is not None and now - backup.created > max_age
        if too_many or too_old:
            doomed.append(backup)
    return doomed


def prune(directory: Path, *, keep: int | None, max_age: timedelta | None, now: datetime,
          protect: Path) -> list[Path]:
    removed = []
    for backup in expired(stored_backups(directory), keep=keep, max_age=max_age, now=now, protect=protect):
        # The manifest goes first: a dump without a manifest is never restored, the reverse
        # would be a manifest pointing at nothing.
        backup.manifest.unlink(missing_ok=True)
        backup.dump.unlink(missing_ok=True)
        removed.append(backup.dump)
    return removed
