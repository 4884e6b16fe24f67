"""The safe upgrade: list pending migrations, back up, migrate, and say how to go back."""

from __future__ import annotations

import io
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from ops.backups import BackupError
from ops.backups.create import BackupResult, create_backup
from ops.backups.events import record_operation
from ops.backups.target import target_for

Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


@dataclass
class PendingMigration:
    app: str
    name: str
    irreversible: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"


@dataclass
class UpgradeResult:
    applied: list[PendingMigration]
    backup: BackupResult | None


def pending_migrations(alias: str = "default") -> list[PendingMigration]:
    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    pending = []
    for migration, backwards in plan:
        if backwards:
            continue
        irreversible = [operation.describe() for operation in migration.operations if not operation.reversible]
        pending.append(PendingMigration(migration.app_label, migration.name, irreversible))
    return pending


def restore_command(dump_path: Path) -> str:
    """The command line that puts the database back exactly as it was, runnable from any
    folder and with either release installed (--no-migrate: the new release's migrations
    must not run again on the way back)."""
    return shlex.join([sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "restore", str(dump_path),
                       "--yes", "--no-migrate"])


def upgrade(*, alias: str = "default", take_backup: bool = True, output_dir: Path | None = None,
            confirm: Callable[[list[PendingMigration]], bool] | None = None,
            progress: Progress = _quiet, migrate_output: io.TextIOBase | None = None) -> UpgradeResult:
    pending = pending_migrations(alias)
    if not pending:
        progress("No pending migrations: the database schema is up to date.")
        return UpgradeResult([], None)
    progress(f"{len(pending)} pending migration(s):")
    for migration in pending:
        progress(f"  {migration.label}" + ("  (cannot be reversed)" if migration.irreversible else ""))
    irreversible = [migration for migration in pending if migration.irreversible]
    if irreversible:
        progress("WARNING: these migrations cannot be reversed; after them, going back to the previous "
                 "release means restoring the backup taken now:")
        for migration in irreversible:
            for operation in migration.irreversible:
                progress(f"  {migration.label}: {operation}")
        if confirm is not None and not confirm(irreversible):
            raise BackupError("Upgrade cancelled; nothing was changed.")

    backup = None
    if not take_backup:
        progress("Skipping the backup (--no-backup).")
    elif not connections[alias].introspection.table_names():
        progress("The database has no tables yet; there is nothing to back up.")
    else:
        backup = create_backup(target_for(alias), output_dir=output_dir, progress=progress)
        progress(f"Backup taken: {backup.dump_path}")

    progress("Applying migrations")
    try:
        call_command("migrate", database=alias, interactive=False, verbosity=1,
                     stdout=migrate_output or io.StringIO())
    except Exception as exc:
        connections[alias].close()
        if backup is not None:
            advice = ("To put the database back as it was before this upgrade, stop the web server and "
                      f"worker and run:\n    {restore_command(backup.dump_path)}")
        else:
            advice = "No backup was taken before this upgrade (--no-backup)."
        record_operation("ops.upgrade", f"Upgrade failed: {exc}", {
            "ok": False, "pending": [migration.label for migration in pending], "error": str(exc),
            "backup": str(backup.dump_path) if backup else None,
        })
        raise BackupError(f"Migrating failed: {exc.__class__.__name__}: {exc}\n{advice}") from exc

    record_operation("ops.upgrade", f"Applied {len(pending)} migration(s) to version "
                     f"{getattr(settings, 'APP_VERSION', '')}", {
        "ok": True, "applied": [migration.label for migration in pending],
        "backup": str(backup.dump_path) if backup else None,
        "app_version": str(getattr(settings, "APP_VERSION", "")),
    })
    return UpgradeResult(pending, backup)
