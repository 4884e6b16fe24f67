"""Restore a verified backup into the configured database, then bring its schema up to date."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.core.management import call_command
from django.db import connections

from ops.backups import BackupError, postgres, sqlite
from ops.backups.events import record_operation
from ops.backups.manifest import Manifest, verify
from ops.backups.sessions import other_sessions
from ops.backups.target import POSTGRES, count_rows, quote, target_for

Progress = Callable[[str], None]

# Filled by migrate itself; rows there do not make a database "hold data".
MIGRATE_OWNED_TABLES = frozenset({"django_migrations", "django_content_type", "auth_permission"})
# Apps whose tables the restore summary lists.
MAIN_APPS = ("agents", "webhooks")


def _quiet(message: str) -> None:
    pass


@dataclass
class RestoreResult:
    dump_path: Path
    manifest: Manifest
    row_counts: dict[str, int]


def tables_with_data(alias: str = "default") -> list[str]:
    connection = connections[alias]
    with connection.cursor() as cursor:
        names = [name for name in connection.introspection.table_names(cursor) if name not in MIGRATE_OWNED_TABLES]
        found = []
        for name in names:
            cursor.execute(f"SELECT 1 FROM {quote(name)} LIMIT 1")
            if cursor.fetchone() is not None:
                found.append(name)
    return found


def main_table_counts(alias: str = "default") -> dict[str, int]:
    """Rows per table of the main apps, through the ORM (so it reflects the migrated schema)."""
    counts = {}
    for label in MAIN_APPS:
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        for model in config.get_models(include_auto_created=True):
            if model._meta.managed and not model._meta.proxy:
                counts[model._meta.db_table] = model._default_manager.using(alias).count()
    return counts


def restore_backup(path: Path, *, alias: str = "default", assume_yes: bool = False, migrate: bool = True,
                   force: bool = False, progress: Progress = _quiet,
                   migrate_output: io.TextIOBase | None = None) -> RestoreResult:
    """Restore ``path`` into ``alias``. ``migrate=False`` leaves the backup's schema as it was
    (going back after a failed upgrade while the new release's code is still installed).
    ``force`` restores even while other sessions or workers use the database."""
    try:
        return _restore_backup(Path(path), alias, assume_yes, migrate, force, progress, migrate_output)
    except BackupError as exc:
        record_operation("ops.restore", f"Database restore from {Path(path).name} failed: {exc}",
                         {"ok": False, "path": str(path), "error": str(exc)})
        raise


def _restore_backup(path: Path, alias: str, assume_yes: bool, migrate: bool, force: bool, progress: Progress,
                    migrate_output: io.TextIOBase | None) -> RestoreResult:
    dump_path, manifest = verify(Path(path))
    target = target_for(alias)
    if manifest.engine != target.engine:
        raise BackupError(f"{dump_path.name} is a {manifest.engine} backup but the configured database is "
                          f"{target.engine}; restore it into a {manifest.engine} database.")
    occupied = tables_with_data(alias)
    if occupied and not assume_yes:
        shown = ", ".join(occupied[:5]) + (" ..." if len(occupied) > 5 else "")
        raise BackupError(f"The {target.label} is not empty (rows in {shown}). Restoring replaces "
                          "everything in it; stop the web server and worker, then run again with --yes.")
    users = other_sessions(alias)
    if users and not force:
        raise BackupError(
            f"The {target.label} is in use by {len(users)} other session(s) or worker(s):\n  - "
            + "\n  - ".join(users[:20]) + ("\n  ..." if len(users) > 20 else "")
            + "\nStop the web server and the worker first (their writes would be lost, and they fail while "
              "the tables are replaced), or run again with --force.")
    if occupied:
        for line in discarded_rows(alias, manifest):
            progress(line)
    progress(f"Restoring {dump_path.name} (made {manifest.created_at}, version {manifest.app_version}) "
             f"into the {target.label}")
    connections[alias].close()
    (postgres.restore if target.engine == POSTGRES else sqlite.restore)(target, dump_path, progress=progress)
    connections[alias].close()
    if migrate:
        progress("Applying migrations newer than the backup")
        try:
            call_command("migrate", database=alias, interactive=False, verbosity=1,
                         stdout=migrate_output or io.StringIO())
        except Exception as exc:
            raise BackupError(f"The backup was restored but migrate failed: {exc}. The database holds the "
                              "backup's schema; fix the cause and run manage.py migrate.") from exc
    counts = main_table_counts(alias) if migrate else _raw_counts(alias, manifest)
    record_operation("ops.restore", f"Database restored from {dump_path.name}", {
        "ok": True, "path": str(dump_path), "sha256": manifest.sha256, "backup_created_at": manifest.created_at,
        "backup_app_version": manifest.app_version, "row_counts": counts, "migrated": migrate,
    })
    return RestoreResult(dump_path, manifest, counts)


def discarded_rows(alias: str, manifest: Manifest) -> list[str]:
    """What the restore throws away: the main tables' rows now against the backup's."""
    now = _raw_counts(alias, manifest, every_main_table=True)
    changed = {table: (count, manifest.row_counts.get(table, 0)) for table, count in now.items()
               if count != manifest.row_counts.get(table, 0)}
    if not changed:
        return [f"The database holds the same number of rows per main table as the backup "
                f"(made {manifest.created_at}); anything changed since then is replaced."]
    lines = [f"Discarding what was written since the backup (made {manifest.created_at}); rows now -> after:"]
    width = max(len(table) for table in changed)
    lines += [f"  {table:<{width}}  {current} -> {backed_up}" for table, (current, backed_up) in sorted(changed.items())]
    return lines


def _raw_counts(alias: str, manifest: Manifest, *, every_main_table: bool = False) -> dict[str, int]:
    """Counts without the ORM: the models may describe a newer schema than the one restored."""
    prefixes = tuple(f"{label}_" for label in MAIN_APPS)
    connection = connections[alias]
    with connection.cursor() as cursor:
        # Before the restore, the tables there now; after it, those the backup has.
        names = set(connection.introspection.table_names(cursor)) if every_main_table else set(manifest.row_counts)
        return count_rows(cursor, sorted(table for table in names if table.startswith(prefixes)))
