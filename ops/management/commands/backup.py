"""``manage.py backup``: a consistent, verified backup of the configured database."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ops.backups import BackupError
from ops.backups.create import create_backup, size_text
from ops.backups.retention import parse_age
from ops.backups.target import target_for


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def age(text: str) -> timedelta:
    try:
        return parse_age(text)
    except ValueError as exc:
        raise ArgumentTypeError(str(exc)) from exc


class Command(BaseCommand):
    help = ("Back up the database (pg_dump custom format, or SQLite's online backup) with a manifest "
            "holding its checksum, then apply the retention policy. Safe to run from cron: runs never overlap.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--output-dir", type=Path, default=None,
                            help="Folder for backups (default: BACKUP_DIR, var/backups).")
        parser.add_argument("--keep", type=positive_int, default=None,
                            help="Keep only the newest N backups in the folder.")
        parser.add_argument("--max-age", type=age, default=None,
                            help="Delete backups older than this, e.g. 7d, 12h, 2w.")
        parser.add_argument("--quiet", action="store_true", help="Print nothing unless something fails (cron).")
        parser.add_argument("--database", default="default", help="Database alias (default: default).")

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["quiet"] or options["verbosity"] == 0
        progress = (lambda message: None) if quiet else self.stdout.write
        try:
            result = create_backup(target_for(options["database"]), output_dir=options["output_dir"],
                                   keep=options["keep"], max_age=options["max_age"], progress=progress)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        if not quiet:
            manifest = result.manifest
            self.stdout.write(self.style.SUCCESS(
                f"Backup written: {result.dump_path} ({size_text(manifest.size)}, {sum(manifest.row_counts.values())} "
                f"rows in {len(manifest.row_counts)} tables, {manifest.duration_seconds:.1f}s, "
                f"{len(result.removed)} old backup(s) removed)"))
