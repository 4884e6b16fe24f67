"""Who else is using the database a restore is about to replace.

A restore under a running system answers its web requests with errors, pulls the tables
from under the worker, and silently discards whatever was written since the backup. So
it looks first: other Postgres sessions on the database (``pg_stat_activity``) and
background workers with a recent heartbeat (any engine; SQLite has no session list).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

from ops.backups.target import POSTGRES, target_for

_OTHER_POSTGRES_SESSIONS = """
SELECT pid, usename, application_name, client_addr, state, backend_start
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
ORDER BY backend_start
"""


def other_sessions(alias: str = "default") -> list[str]:
    """One line per session or worker that uses the database besides this process."""
    found: list[str] = []
    connection = connections[alias]
    if target_for(alias).engine == POSTGRES:
        with connection.cursor() as cursor:
            cursor.execute(_OTHER_POSTGRES_SESSIONS)
            for pid, user, application, address, state, started in cursor.fetchall():
                program = f" {application!r}" if application else ""
                found.append(f"Postgres session {pid}{program} of {user} from {address or 'the local socket'}, "
                             f"{state or 'unknown state'}, connected since {started:%Y-%m-%d %H:%M:%S %Z}")
    found.extend(_live_workers(alias))
    return found


def _live_workers(alias: str) -> list[str]:
    from ops.models import WorkerHeartbeat

    cutoff = timezone.now() - timedelta(seconds=settings.WORKER_GONE_AFTER_SECONDS)
    try:
        workers = list(WorkerHeartbeat.objects.using(alias).filter(last_beat_at__gte=cutoff))
    except DatabaseError:
        # No heartbeat table (an empty database, or one older than it): no worker can be using it.
        connections[alias].close()
        return []
    return [f"db_worker {worker.worker_id} on {worker.hostname or 'an unknown host'} (pid {worker.pid}), "
            f"last heartbeat {worker.last_beat_at:%H:%M:%S}" for worker in workers]
