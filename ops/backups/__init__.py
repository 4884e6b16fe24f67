"""Backups of the configured database: create, verify, restore, drill, and the safe upgrade.

The commands in ``ops/management/commands`` are thin: they parse options and call the
functions here, which tests call directly. Postgres is dumped and restored by its own
tools (``pg_dump``/``pg_restore``, streaming to and from the file); SQLite by its online
backup API. Nothing here reads table rows into Python.
"""

from __future__ import annotations


class BackupError(Exception):
    """A backup, restore or drill step failed; the message is meant for the operator."""
