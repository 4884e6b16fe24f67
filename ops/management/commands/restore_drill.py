"""``manage.py restore_drill PATH``: restore a backup into a scratch database and check it."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ops.backups.drill import run_drill
from ops.backups.target import target_for


class Command(BaseCommand):
    help = ("Restore a backup into a temporary database (Postgres) or file (SQLite), compare the applied "
            "migrations and every table's row count with the manifest, then drop the scratch copy. "
            "Exits 0 only when all of it worked; the live database is not touched.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path, help="The backup file (or its .manifest.json).")
        parser.add_argument("--scratch-db", default=None,
                            help="Name of the temporary Postgres database (default: <name>_drill_<random>).")
        parser.add_argument("--database", default="default",
                            help="Alias whose server hosts the scratch database (default: default).")
        parser.add_argument("--quiet", action="store_true", help="Print nothing unless the drill fails.")

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["quiet"] or options["verbosity"] == 0
        progress = (lambda message: None) if quiet else self.stdout.write
        target = None if options["database"] == "default" else target_for(options["database"])
        result = run_drill(options["path"], target=target,
                           scratch_name=options["scratch_db"], progress=progress)
        if not result.ok:
            raise CommandError("Restore drill FAILED for {}:\n  {}".format(
                result.path, "\n  ".join(result.problems)))
        if not quiet:
            self.stdout.write(self.style.SUCCESS(
                f"Restore drill passed: {result.path.name} restored, {result.tables_checked} tables and "
                f"{result.rows_checked} rows match the manifest ({result.seconds:.1f}s)."))
