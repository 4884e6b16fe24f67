"""``manage.py upgrade``: the safe way to move to a new release."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ops.backups import BackupError
from ops.backups.upgrade import PendingMigration, upgrade


class Command(BaseCommand):
    help = ("Show pending migrations, back up the database, apply them, and on failure print the exact "
            "restore command. Asks before applying a migration that cannot be reversed unless --no-input.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--no-backup", action="store_true", help="Do not take a backup first.")
        parser.add_argument("--no-input", "--noinput", action="store_false", dest="interactive",
                            help="Never prompt (deploy scripts, DB_AUTO_MIGRATE).")
        parser.add_argument("--output-dir", type=Path, default=None,
                            help="Folder for the pre-upgrade backup (default: BACKUP_DIR).")
        parser.add_argument("--database", default="default", help="Database alias (default: default).")

    def confirm(self, irreversible: list[PendingMigration]) -> bool:
        try:
            answer = input("Apply them anyway? Type 'yes' to continue: ")
        except EOFError:
            # No terminal (cron, a pipe): nobody said yes.
            return False
        return answer.strip().lower() == "yes"

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = upgrade(alias=options["database"], take_backup=not options["no_backup"],
                             output_dir=options["output_dir"],
                             confirm=self.confirm if options["interactive"] else None,
                             progress=self.stdout.write, migrate_output=self.stdout)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        if result.applied:
            backup = f"; backup {result.backup.dump_path}" if result.backup else ""
            self.stdout.write(self.style.SUCCESS(f"Upgrade done: {len(result.applied)} migration(s) applied{backup}."))
