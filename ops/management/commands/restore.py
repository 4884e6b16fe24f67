"""``manage.py restore PATH``: put a verified backup back and migrate it to the current schema."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ops.backups import BackupError
from ops.backups.restore import restore_backup


class Command(BaseCommand):
    help = ("Restore a backup made by `manage.py backup` into the configured database: checks its SHA-256 "
            "and engine, refuses a database that holds data unless --yes and one other sessions or workers use unless "
            "--force, says what it discards, then runs migrate. Stop the web server and worker first.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path, help="The backup file (or its .manifest.json).")
        parser.add_argument("--yes", action="store_true",
                            help="Replace the data of a database that is not empty.")
        parser.add_argument("--force", action="store_true",
                            help="Restore even while other database sessions or workers use the database "
                                 "(they are named when the restore refuses).")
        parser.add_argument("--no-migrate", action="store_false", dest="migrate",
                            help="Leave the backup's schema as it is (going back after a failed upgrade "
                                 "while the new release is still installed).")
        parser.add_argument("--database", default="default", help="Database alias (default: default).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = restore_backup(options["path"], alias=options["database"], assume_yes=options["yes"],
                                    migrate=options["migrate"], force=options["force"],
                                    progress=self.stdout.write, migrate_output=self.stdout)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("Rows per table after the restore:")
        width = max((len(table) for table in result.row_counts), default=0)
        for table, count in sorted(result.row_counts.items()):
            self.stdout.write(f"  {table:<{width}}  {count}")
        self.stdout.write(self.style.SUCCESS(
            f"Restored {result.dump_path.name} (made {result.manifest.created_at}); "
            f"{sum(result.row_counts.values())} rows in the main tables."))
