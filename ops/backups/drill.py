"""The restore drill: prove a backup restores, without touching the live database."""

from __future__ import annotations

import secrets
import sqlite3
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.backups import BackupError, postgres, sqlite
from ops.backups.manifest import Manifest, verify
from ops.backups.target import (
    POSTGRES,
    SQLITE,
    DatabaseTarget,
    applied_migrations,
    count_rows,
    pg_connect,
    pg_table_names,
    sqlite_table_names,
    target_for,
)

Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


@dataclass
class DrillResult:
    path: Path
    problems: list[str] = field(default_factory=list)
    scratch: str = ""
    tables_checked: int = 0
    rows_checked: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def compare(manifest: Manifest, tables: list[str], migrations: list[list[str]],
            counts: dict[str, int]) -> list[str]:
    problems = []
    missing = sorted(set(manifest.row_counts) - set(tables))
    if missing:
        problems.append(f"tables missing after restore: {', '.join(missing)}")
    expected_migrations = {tuple(item) for item in manifest.migrations}
    actual_migrations = {tuple(item) for item in migrations}
    if expected_migrations != actual_migrations:
        lost = sorted(f"{app}.{name}" for app, name in expected_migrations - actual_migrations)
        extra = sorted(f"{app}.{name}" for app, name in actual_migrations - expected_migrations)
        problems.append(f"applied migrations differ from the manifest (missing: {', '.join(lost) or '-'}; "
                        f"unexpected: {', '.join(extra) or '-'})")
    for table, expected in sorted(manifest.row_counts.items()):
        if table in counts and counts[table] != expected:
            problems.append(f"{table}: {counts[table]} rows restored, the manifest says {expected}")
    return problems


def run_drill(path: Path, *, target: DatabaseTarget | None = None, scratch_name: str | None = None,
              progress: Progress = _quiet) -> DrillResult:
    started = time.monotonic()
    result = DrillResult(Path(path))
    try:
        dump_path, manifest = verify(Path(path))
        result.path = dump_path
        progress(f"Checksum of {dump_path.name} matches its manifest")
        if manifest.engine == POSTGRES:
            target = target or target_for()
            if target.engine != POSTGRES:
                raise BackupError(f"{dump_path.name} is a Postgres backup; the drill restores it on the "
                                  f"configured Postgres server, but the configured database is {target.engine}.")
            _drill_postgres(target, dump_path, manifest, result, scratch_name, progress)
        else:
            # A SQLite drill needs no server: any host with this release can run it.
            _drill_sqlite(dump_path, manifest, result, progress)
    except BackupError as exc:
        result.problems.append(str(exc))
    result.seconds = time.monotonic() - started
    return result


def _check(result: DrillResult, manifest: Manifest, cursor: Any, tables: list[str]) -> None:
    migrations = applied_migrations(cursor, tables)
    counts = count_rows(cursor, [table for table in manifest.row_counts if table in tables])
    result.problems.extend(compare(manifest, tables, migrations, counts))
    result.tables_checked = len(counts)
    result.rows_checked = sum(counts.values())


def _drill_postgres(target: DatabaseTarget, dump_path: Path, manifest: Manifest, result: DrillResult,
                    scratch_name: str | None, progress: Progress) -> None:
    name = scratch_name or f"{target.name[:40]}_drill_{secrets.token_hex(4)}"
    result.scratch = name
    progress(f"Creating scratch database {name}")
    postgres.create_database(target, name)
    try:
        scratch = target.with_name(name)
        postgres.restore(scratch, dump_path, progress=progress)
        with pg_connect(scratch) as connection, connection.cursor() as cursor:
            _check(result, manifest, cursor, pg_table_names(cursor))
    finally:
        progress(f"Dropping scratch database {name}")
        postgres.drop_database(target, name)


def _drill_sqlite(dump_path: Path, manifest: Manifest, result: DrillResult, progress: Progress) -> None:
    with tempfile.TemporaryDirectory(prefix="mc-drill-") as folder:
        scratch_path = Path(folder) / "drill.sqlite3"
        result.scratch = str(scratch_path)
        progress(f"Restoring into scratch file {scratch_path}")
        sqlite.restore(DatabaseTarget(SQLITE, str(scratch_path)), dump_path, progress=progress)
        try:
            problems = sqlite.integrity_problems(scratch_path)
            with closing(sqlite3.connect(scratch_path)) as connection:
                _check(result, manifest, connection.cursor(), sqlite_table_names(connection))
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"The restored copy cannot be read: {exc}") from exc
        result.problems.extend(f"integrity check: {problem}" for problem in problems[:10])
