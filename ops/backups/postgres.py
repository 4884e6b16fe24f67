"""pg_dump and pg_restore: found on PATH, version-checked, run with the password in the
environment, their verbose output turned into progress lines and their errors into
sentences an operator can act on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ops.backups import BackupError
from ops.backups.target import DatabaseTarget, pg_connect, pg_table_names, quote

Progress = Callable[[str], None]
MAINTENANCE_DATABASE = "postgres"
BYTES_PROGRESS_SECONDS = 5.0
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?")
_DUMP_TABLE = re.compile(r'dumping contents of table "?([^"\s]+)"?')
_RESTORE_TABLE = re.compile(r'processing data for table "?([^"\s]+)"?')
_TOC_TABLE = re.compile(r"^\d+;\s+\d+\s+\d+\s+TABLE\s+(?!DATA\s)(\S+)\s+(\S+)\s")


def find_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} was not found on PATH. Install the PostgreSQL client tools "
                          f"(Debian/Ubuntu: apt install postgresql-client) at the server's major version "
                          f"or newer, then run this command again.")
    return path


def major_of(version_num: int) -> tuple[int, int]:
    """Comparable major version from a ``server_version_num``-style number:
    150020 -> (15, 0); before 10 the major had two parts, 90624 -> (9, 6)."""
    if version_num >= 100000:
        return version_num // 10000, 0
    return version_num // 10000, version_num // 100 % 100


def tool_version(path: str) -> tuple[int, str]:
    """(version number like server_version_num, the tool's own version line)."""
    try:
        result = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError as exc:
        raise BackupError(f"{path} cannot be run: {exc.strerror}.") from exc
    line = result.stdout.strip()
    match = _VERSION.search(line)
    if result.returncode != 0 or not match:
        raise BackupError(f"{path} --version printed {line!r}, which is not a PostgreSQL version.")
    major, minor, patch = (int(part) if part else 0 for part in match.groups())
    number = major * 10000 + minor if major >= 10 else major * 10000 + minor * 100 + patch
    return number, line


def check_tool_version(path: str, server_version_num: int) -> str:
    """Refuse a tool whose major version is older than the server's: it cannot dump it."""
    number, line = tool_version(path)
    tool_major, server_major = major_of(number), major_of(server_version_num)
    if tool_major < server_major:
        raise BackupError(f"{Path(path).name} is version {_major_text(tool_major)} ({path}) but the server runs "
                          f"PostgreSQL {_major_text(server_major)}; an older {Path(path).name} cannot dump a newer "
                          f"server. Install the client tools of version {_major_text(server_major)} or newer.")
    return line


def _major_text(major: tuple[int, int]) -> str:
    return str(major[0]) if major[0] >= 10 else f"{major[0]}.{major[1]}"


def run_tool(argv: list[str], env: dict[str, str], on_line: Callable[[str], None]) -> tuple[int, list[str]]:
    """Run a tool, feeding each stderr line to ``on_line``; returns (exit code, last error lines)."""
    errors: deque[str] = deque(maxlen=12)
    process = subprocess.Popen(argv, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace")
    assert process.stderr is not None
    for raw in process.stderr:
        line = raw.rstrip()
        on_line(line)
        lowered = line.lower()
        if "error" in lowered or "fatal" in lowered or "could not" in lowered or "warning" in lowered:
            errors.append(line)
    return process.wait(), list(errors)


def explain_failure(tool: str, target: DatabaseTarget, code: int, errors: list[str]) -> BackupError:
    text = "\n".join(errors)
    lowered = text.lower()
    if "no space left on device" in lowered or "disk full" in lowered:
        return BackupError(f"The disk is full: {tool} could not write the backup (No space left on device). "
                           "Free space or choose another --output-dir; the partial file was removed.")
    if "connection to server" in lowered or "could not connect" in lowered or "could not translate host" in lowered:
        return BackupError(f"Cannot reach the {target.label}: {errors[-1] if errors else 'connection failed'}")
    detail = "\n  ".join(errors) or "(no error output)"
    return BackupError(f"{tool} failed with exit code {code}:\n  {detail}")


class TableProgress:
    """Turns verbose tool output into one line per table, with a count when the total is known."""

    def __init__(self, pattern: re.Pattern[str], verb: str, total: int, progress: Progress) -> None:
        self.pattern, self.verb, self.total, self.progress = pattern, verb, total, progress
        self.done = 0
        self.started = time.monotonic()

    def __call__(self, line: str) -> None:
        match = self.pattern.search(line)
        if match:
            self.done += 1
            table = match[1].split(".")[-1]
            of_total = f"/{self.total}" if self.total else ""
            self.progress(f"  {self.verb} {table} ({self.done}{of_total} tables, "
                          f"{time.monotonic() - self.started:.1f}s)")


def _report_growth(path: Path, stop: threading.Event, progress: Progress) -> None:
    reported = 0
    while not stop.wait(BYTES_PROGRESS_SECONDS):
        try:
            size = path.stat().st_size
        except OSError:
            continue
        if size != reported:
            reported = size
            progress(f"  {size / 1048576:.1f} MiB written")


def dump(target: DatabaseTarget, destination: Path, *, snapshot: str | None, table_count: int,
         progress: Progress) -> None:
    """``pg_dump --format=custom`` straight into ``destination``; rows never pass through Python."""
    argv = [find_tool("pg_dump"), "--format=custom", "--no-password", "--verbose", f"--file={destination}"]
    if snapshot:
        argv.append(f"--snapshot={snapshot}")
    # One big table gives no per-table line for a long time; the file's growth still shows.
    stop = threading.Event()
    ticker = threading.Thread(target=_report_growth, args=(destination, stop, progress), daemon=True)
    ticker.start()
    try:
        code, errors = run_tool(argv, target.pg_env(),
                                TableProgress(_DUMP_TABLE, "dumped", table_count, progress))
    finally:
        stop.set()
        ticker.join()
    if code != 0:
        raise explain_failure("pg_dump", target, code, errors)


def dump_tables(dump_path: Path) -> set[str]:
    """Names of the tables an archive holds (from ``pg_restore --list``)."""
    result = subprocess.run([find_tool("pg_restore"), "--list", str(dump_path)], capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"pg_restore cannot read {dump_path.name}: {result.stderr.strip()}")
    return {match[2] for line in result.stdout.splitlines() if (match := _TOC_TABLE.match(line))}


def restore(target: DatabaseTarget, dump_path: Path, *, progress: Progress) -> None:
    """Replace the database's tables with the archive's, all or nothing."""
    pg_restore = find_tool("pg_restore")
    archived = dump_tables(dump_path)
    with pg_connect(target, autocommit=True) as connection, connection.cursor() as cursor:
        # Tables the archive does not know (a newer schema than the backup) would survive
        # --clean and make the following migrate trip over them.
        for table in sorted(set(pg_table_names(cursor)) - archived):
            progress(f"  dropping {table} (not in the backup)")
            cursor.execute(f"DROP TABLE IF EXISTS {quote(table)} CASCADE")
    # --no-privileges: grants name roles that may not exist on the server restored to.
    argv = [pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
            "--exit-on-error", "--no-password", "--verbose", f"--dbname={target.name}", str(dump_path)]
    code, errors = run_tool(argv, target.pg_env(),
                            TableProgress(_RESTORE_TABLE, "restored", len(archived), progress))
    if code != 0:
        raise explain_failure("pg_restore", target, code, errors)


def server_version_num(cursor: Any) -> int:
    cursor.execute("SHOW server_version_num")
    return int(cursor.fetchone()[0])


def create_database(target: DatabaseTarget, name: str) -> None:
    with pg_connect(target.with_name(MAINTENANCE_DATABASE), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {quote(name)}")


def drop_database(target: DatabaseTarget, name: str) -> None:
    with pg_connect(target.with_name(MAINTENANCE_DATABASE), autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {quote(name)} WITH (FORCE)")
