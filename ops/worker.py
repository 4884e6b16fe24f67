"""The background worker's loop: django-tasks-db's worker, made to outlive its database.

django-tasks-db's own loop lets any database error other than a locked SQLite escape, so
a Postgres restart (``terminating connection due to administrator command``) or a
restore ended the process and every job waited for someone to notice. Here a
connection error ends only the current round: the connections are closed, the worker
waits (0.5 s, doubling, at most ``MAX_BACKOFF_SECONDS``) and tries again, for as long as
it takes. It logs one warning when the database goes away and one line when it is
back, not one per retry. A job whose run was cut off by the outage stays RUNNING; the
reaper hands it out again.
"""

from __future__ import annotations

import logging
import time

from django.db import close_old_connections, connections
from django.db.utils import InterfaceError, OperationalError
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

logger = logging.getLogger("ops.worker")

# What a database that went away raises: the server closed the connection, refused a new
# one, or is starting up or shutting down.
CONNECTION_ERRORS = (OperationalError, InterfaceError)

FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0


class DatabaseOutage:
    """How long to wait before the next try, and whether the outage was logged yet."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.wait = FIRST_BACKOFF_SECONDS

    def failed(self, exc: BaseException) -> float:
        """Record a failed round; returns how long to sleep before the next one."""
        if self.since is None:
            self.since = time.monotonic()
            logger.warning("Database unreachable; the worker keeps retrying until it is back (%s: %s).",
                           type(exc).__name__, " ".join(str(exc).split())[:200])
            self.wait = FIRST_BACKOFF_SECONDS
        else:
            self.wait = min(MAX_BACKOFF_SECONDS, self.wait * 2)
        return self.wait

    def succeeded(self) -> None:
        if self.since is not None:
            logger.info("Database reachable again; the worker carries on (outage lasted %.0fs).",
                        time.monotonic() - self.since)
            self.since, self.wait = None, FIRST_BACKOFF_SECONDS


def _close_connections() -> None:
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception:  # noqa: BLE001, S110  (a dead connection may fail to close; it is gone either way)
            pass


class ResilientWorker(Worker):
    """django-tasks-db's worker whose loop survives the database going away."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.outage = DatabaseOutage()

    def run(self) -> None:
        logger.info("Starting worker worker_id=%s queues=%s", self.worker_id, ",".join(self.queue_names))
        if self.startup_delay and self.interval:
            time.sleep(self.interval * 0.5)  # spread workers started together
        while self.running:
            try:
                ran_one, nothing_ready = self.run_round()
            except CONNECTION_ERRORS as exc:
                _close_connections()
                if self.running:
                    time.sleep(self.outage.failed(exc))
                continue
            self.outage.succeeded()
            if self.batch and nothing_ready:
                logger.info("No more tasks to run for worker_id=%s; exiting.", self.worker_id)
                return
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                logger.info("Ran the maximum of %d tasks on worker_id=%s; exiting.", self._run_tasks, self.worker_id)
                return
            if self.running and not ran_one:
                time.sleep(self.interval)

    def run_round(self) -> tuple[bool, bool]:
        """Claim and run at most one job: (ran one, found none ready)."""
        close_old_connections()
        jobs = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            jobs = jobs.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            jobs = jobs.exclude(queue_name__in=self.excluded_queue_names)
        try:
            with exclusive_transaction(jobs.db):
                job = jobs.get_locked()
                if job is not None:
                    job.claim(self.worker_id)
        except OperationalError as exc:
            if not is_locked_database_exception(exc):
                raise
            return False, False  # SQLite is busy; it will be free again soon
        if job is None:
            return False, True
        self.run_task(job)
        close_old_connections()
        return True, False
