"""SQLite through its online backup API: a consistent copy while the application runs."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from django.db import connections

from ops.backups import BackupError
from ops.backups.target import DatabaseTarget, is_memory_sqlite, sqlite_connect

Progress = Callable[[str], None]
PAGES_PER_STEP = 1024
PROGRESS_EVERY_SECONDS = 2.0


def _progress_callback(progress: Progress, verb: str) -> Callable[[int, int, int], None]:
    last = [time.monotonic()]

    def report(status: int, remaining: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_SECONDS and total:
            last[0] = now
            progress(f"  {verb} {total - remaining} of {total} pages ({100 * (total - remaining) // total}%)")

    return report


def _explain(exc: sqlite3.Error, what: str) -> BackupError:
    text = str(exc)
    if "disk is full" in text or "No space left" in text:
        return BackupError(f"The disk is full: SQLite could not write {what} (database or disk is full). "
                           "Free space or choose another --output-dir; the partial file was removed.")
    return BackupError(f"SQLite could not write {what}: {text}")


def backup(target: DatabaseTarget, destination: Path, *, progress: Progress) -> str:
    """Copy the live database into ``destination`` page by page; returns the SQLite version."""
    if not is_memory_sqlite(target.name) and not Path(target.name).is_file():
        raise BackupError(f"Cannot reach the {target.label}: the file does not exist.")
    try:
        with sqlite_connect(target) as source, closing(sqlite3.connect(destination)) as copy:
            source.backup(copy, pages=PAGES_PER_STEP, progress=_progress_callback(progress, "copied"))
            # A self-contained file: no -wal/-shm companions, and reading it later changes nothing.
            copy.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise _explain(exc, destination.name) from exc
    return f"sqlite {sqlite3.sqlite_version}"


@contextmanager
def open_read_only(path: Path) -> Iterator[sqlite3.Connection]:
    # immutable: a verified backup must not be touched, not even by a journal recovery.
    connection = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        yield connection
    finally:
        connection.close()


def restore(target: DatabaseTarget, dump_path: Path, *, progress: Progress) -> None:
    """Overwrite the database with the backup's pages (the backup API also replaces the schema)."""
    if target.alias is not None:
        # A fresh connection: no open transaction or cached statements may survive the swap.
        connections[target.alias].close()
    try:
        with open_read_only(dump_path) as source, sqlite_connect(target) as destination:
            source.backup(destination, pages=PAGES_PER_STEP, progress=_progress_callback(progress, "restored"))
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not restore {dump_path.name}: {exc}") from exc


def integrity_problems(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as connection:
        rows = connection.execute("PRAGMA integrity_check").fetchall()
    problems = [row[0] for row in rows]
    return [] if problems == ["ok"] else problems
