"""Make one backup: dump, checksum, manifest, retention, all under the folder's lock."""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings

from ops.backups import BackupError, postgres, retention, sqlite, state
from ops.backups.events import record_operation
from ops.backups.lock import backup_lock
from ops.backups.manifest import (
    Manifest,
    fsync_directory,
    manifest_path_for,
    sha256_of,
    write_durably,
)
from ops.backups.target import (
    POSTGRES,
    DatabaseTarget,
    applied_migrations,
    count_rows,
    pg_connect,
    pg_table_names,
    sqlite_table_names,
    target_for,
)
from ops.durable import fsync_path

Progress = Callable[[str], None]
logger = logging.getLogger("ops.backups")


def _quiet(message: str) -> None:
    pass


@dataclass
class BackupResult:
    dump_path: Path
    manifest_path: Path
    manifest: Manifest
    removed: list[Path] = field(default_factory=list)


@dataclass
class _Contents:
    migrations: list[list[str]]
    row_counts: dict[str, int]
    tool: str


def default_output_dir() -> Path:
    return Path(settings.BACKUP_DIR)


def create_backup(target: DatabaseTarget | None = None, *, output_dir: Path | None = None,
                  keep: int | None = None, max_age: timedelta | None = None,
                  progress: Progress = _quiet) -> BackupResult:
    target = target or target_for()
    try:
        return _create_backup(target, output_dir, keep, max_age, progress)
    except BackupError as exc:
        record_operation("ops.backup", f"Database backup failed: {exc}", {"ok": False, "error": str(exc)})
        raise


def _create_backup(target: DatabaseTarget, output_dir: Path | None, keep: int | None,
                   max_age: timedelta | None, progress: Progress) -> BackupResult:
    output_dir = Path(output_dir or default_output_dir()).expanduser().resolve()
    try:
        output_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"Cannot create the backup folder {output_dir}: {exc.strerror}.") from exc
    started = time.monotonic()
    with backup_lock(output_dir):
        for leftover in output_dir.glob("*.partial"):
            # We hold the lock, so any partial file is what a crashed run left behind.
            leftover.unlink(missing_ok=True)
        now = datetime.now(UTC)
        dump_path = _free_name(output_dir, now, "dump" if target.engine == POSTGRES else "sqlite3")
        partial = dump_path.with_name(dump_path.name + ".partial")
        progress(f"Backing up the {target.label} to {dump_path}")
        try:
            # Backups hold secrets (webhook secrets, token digests): readable by the owner only.
            os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
            contents = (_dump_postgres if target.engine == POSTGRES else _dump_sqlite)(target, partial, progress)
            fsync_path(partial)
            size = partial.stat().st_size
            digest = sha256_of(partial)
            os.replace(partial, dump_path)
            fsync_directory(output_dir)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise _os_error(exc, dump_path) from exc
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        manifest = Manifest(
            created_at=now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            engine=target.engine,
            database=target.name,
            dump_file=dump_path.name,
            size=size,
            sha256=digest,
            app_version=str(getattr(settings, "APP_VERSION", "")),
            migrations=contents.migrations,
            row_counts=contents.row_counts,
            tool=contents.tool,
            duration_seconds=round(time.monotonic() - started, 3),
        )
        manifest_path = manifest_path_for(dump_path)
        try:
            write_durably(manifest_path, manifest.to_json())
        except OSError as exc:
            # Without its manifest a dump cannot be verified; do not leave it looking usable.
            dump_path.unlink(missing_ok=True)
            manifest_path.with_name(manifest_path.name + ".partial").unlink(missing_ok=True)
            raise _os_error(exc, manifest_path) from exc
        try:
            state.record_success(dump_path, manifest.created_at, size, target)
        except OSError as exc:
            # The backup itself is complete; only the readiness probe will not know of it.
            logger.warning("Could not record the backup in %s: %s", state.state_path(), exc)
        removed = retention.prune(output_dir, keep=keep, max_age=max_age, now=now, protect=dump_path)
    for path in removed:
        progress(f"  removed old backup {path.name}")
    record_operation("ops.backup", f"Database backup {dump_path.name} ({size_text(size)})", {
        "ok": True, "path": str(dump_path), "size": size, "sha256": digest, "engine": target.engine,
        "duration_seconds": manifest.duration_seconds, "removed": [path.name for path in removed],
    })
    return BackupResult(dump_path, manifest_path, manifest, removed)


def _free_name(directory: Path, now: datetime, extension: str) -> Path:
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{retention.BACKUP_PREFIX}{stamp}.{extension}"
    counter = 1
    while path.exists():
        path = directory / f"{retention.BACKUP_PREFIX}{stamp}-{counter}.{extension}"
        counter += 1
    return path


def _dump_postgres(target: DatabaseTarget, partial: Path, progress: Progress) -> _Contents:
    import psycopg

    with pg_connect(target) as connection:
        # One snapshot for the counts, the migration list and pg_dump itself (--snapshot),
        # so the manifest describes exactly the rows in the dump even while the app writes.
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        with connection.cursor() as cursor:
            version = postgres.server_version_num(cursor)
            tool = postgres.check_tool_version(postgres.find_tool("pg_dump"), version)
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            tables = pg_table_names(cursor)
            migrations = applied_migrations(cursor, tables)
            counts = count_rows(cursor, tables)
            postgres.dump(target, partial, snapshot=snapshot, table_count=len(tables), progress=progress)
        connection.rollback()
    return _Contents(migrations, counts, tool)


def _dump_sqlite(target: DatabaseTarget, partial: Path, progress: Progress) -> _Contents:
    tool = sqlite.backup(target, partial, progress=progress)
    # Counted in the copy, which is a single consistent state of the database.
    with sqlite.open_read_only(partial) as copy:
        cursor = copy.cursor()
        tables = sqlite_table_names(copy)
        return _Contents(applied_migrations(cursor, tables), count_rows(cursor, tables), tool)


def _os_error(exc: OSError, path: Path) -> BackupError:
    if exc.errno == errno.ENOSPC:
        return BackupError(f"The disk is full: {path.name} could not be written (No space left on device). "
                           "Free space or choose another --output-dir; nothing was left half-written.")
    return BackupError(f"Cannot write {path}: {exc.strerror or exc}.")


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    scaled = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        scaled /= 1024
        if scaled < 1024 or unit == "GiB":
            break
    return f"{scaled:.1f} {unit}"

