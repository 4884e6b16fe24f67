"""Which database to work on, and how to reach it outside Django's connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import connections

from ops.backups import BackupError

POSTGRES = "postgresql"
SQLITE = "sqlite"

# libpq parameters Django may carry in OPTIONS, and the environment variables the
# command-line tools read them from.
LIBPQ_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "passfile": "PGPASSFILE",
}


@dataclass(frozen=True)
class DatabaseTarget:
    """Connection details of one database. ``alias`` is set when it is a Django connection."""

    engine: str
    name: str
    host: str = ""
    port: str = ""
    user: str = ""
    password: str = field(default="", repr=False)
    options: dict[str, Any] = field(default_factory=dict)
    alias: str | None = None

    @property
    def label(self) -> str:
        if self.engine == SQLITE:
            return f"SQLite {self.name}"
        where = f"{self.host or 'local socket'}{':' + self.port if self.port else ''}"
        return f"Postgres database {self.name!r} on {where}"

    def with_name(self, name: str) -> DatabaseTarget:
        """The same server, another database (scratch and maintenance databases)."""
        return replace(self, name=name, alias=None)

    def libpq_options(self) -> dict[str, str]:
        return {key: str(value) for key, value in self.options.items() if key in LIBPQ_ENV}

    def pg_env(self) -> dict[str, str]:
        """Environment for pg_dump/pg_restore: the password travels here, never in argv."""
        env = {"PGDATABASE": self.name}
        if self.host:
            env["PGHOST"] = self.host
        if self.port:
            env["PGPORT"] = str(self.port)
        if self.user:
            env["PGUSER"] = self.user
        if self.password:
            env["PGPASSWORD"] = self.password
        for key, value in self.libpq_options().items():
            env[LIBPQ_ENV[key]] = value
        env.setdefault("PGCONNECT_TIMEOUT", "10")
        return env


def target_for(alias: str = "default") -> DatabaseTarget:
    """The database Django uses for ``alias`` (under pytest-django: the test database)."""
    settings_dict = connections[alias].settings_dict
    vendor = connections[alias].vendor
    if vendor == "postgresql":
        engine = POSTGRES
    elif vendor == "sqlite":
        engine = SQLITE
    else:
        raise BackupError(f"Backups support Postgres and SQLite, not the {vendor} database engine.")
    return DatabaseTarget(
        engine=engine,
        name=str(settings_dict["NAME"]),
        host=settings_dict.get("HOST") or "",
        port=str(settings_dict.get("PORT") or ""),
        user=settings_dict.get("USER") or "",
        password=settings_dict.get("PASSWORD") or "",
        options=dict(settings_dict.get("OPTIONS") or {}),
        alias=alias,
    )


@contextmanager
def pg_connect(target: DatabaseTarget, *, autocommit: bool = False) -> Iterator[Any]:
    """A psycopg connection of our own (Django's connection stays out of dump snapshots)."""
    import psycopg

    kwargs: dict[str, Any] = {"dbname": target.name, "connect_timeout": 10, **target.libpq_options()}
    for key in ("host", "port", "user", "password"):
        if getattr(target, key):
            kwargs[key] = getattr(target, key)
    try:
        connection = psycopg.connect(autocommit=autocommit, **kwargs)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else exc.__class__.__name__
        raise BackupError(f"Cannot reach the {target.label}: {reason}") from exc
    try:
        yield connection
    finally:
        connection.close()


def is_memory_sqlite(name: str) -> bool:
    return name == ":memory:" or "mode=memory" in name


@contextmanager
def sqlite_connect(target: DatabaseTarget) -> Iterator[sqlite3.Connection]:
    """The SQLite database itself: Django's own connection for an alias (the only way to
    reach an in-memory test database), else a new connection to the file."""
    if target.alias is not None:
        connection = connections[target.alias]
        connection.ensure_connection()
        yield connection.connection
        return
    raw = sqlite3.connect(target.name, uri=target.name.startswith("file:"))
    try:
        yield raw
    finally:
        raw.close()


def pg_table_names(cursor: Any) -> list[str]:
    cursor.execute(
        "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    )
    return [row[0] for row in cursor.fetchall()]


def sqlite_table_names(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return [row[0] for row in rows]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def count_rows(cursor: Any, tables: list[str]) -> dict[str, int]:
    """Exact counts; the database counts, Python only receives one number per table."""
    counts = {}
    for table in tables:
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")
        counts[table] = int(cursor.fetchone()[0])
    return counts


def applied_migrations(cursor: Any, tables: list[str]) -> list[list[str]]:
    if "django_migrations" not in tables:
        return []
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
    return [[app, name] for app, name in cursor.fetchall()]
