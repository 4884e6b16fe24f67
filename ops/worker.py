"""The background worker's loop: django-tasks-db's worker, made to outlive its database.

django-tasks-db's own loop lets any database error other than a locked SQLite escape, so
a Postgres restart (``terminating connection due to administrator command``) or a
restore (tables dropped and created again) ended the process and every job waited for someone to notice. Here a
connection error ends only the current round: the connections are closed, the worker
waits (0.5 s, doubling, at most ``MAX_BACKOFF_SECONDS``) and tries again, for as long as
it takes. It logs one warning when the database goes away and one line when it is
back, not one per retry. A job whose run was cut off by the outage stays RUNNING; the
reaper hands it out again.

Each worker keeps a heartbeat row (``ops.WorkerHeartbeat``), beaten from a thread of its
own every sixth of ``WORKER_GONE_AFTER_SECONDS`` so a long job does not silence it. On
start and then every half of that time, a worker returns to the queue the RUNNING jobs
whose claiming worker has no recent heartbeat: "stale" means "its worker is gone", never
"running for longer than N minutes", so a killed worker's jobs run again within seconds
and a long job of a live worker is never taken from it.

On Postgres a round claims up to ``CLAIM_BATCH`` ready jobs with one ``UPDATE ... WHERE id
IN (SELECT ... FOR UPDATE SKIP LOCKED)``, runs them one after the other, and records the
successful ones with one write at the end of the batch: two commits per batch instead of
two per job, which on a busy database (each commit waits for its WAL flush) was most of
what a short job cost. Two workers never claim the same job (the row locks, then the
status). A job whose worker dies after it ran but before the batch was recorded is still
RUNNING, so the reaper hands it out again: at least once, as before, and the jobs that
must not act twice (a delivery attempt, an outbox batch) check their own state first.
A stop signal ends the batch after the current job and returns the jobs not started.
SQLite keeps one job per round in an exclusive transaction.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.db.models import QuerySet
from django.db.utils import DatabaseError, InterfaceError, OperationalError
from django.tasks import TaskResultStatus
from django.tasks import signals as task_signals
from django.tasks.base import TaskResult
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from ops.models import WorkerHeartbeat

logger = logging.getLogger("ops.worker")
# Where Django writes its lines about jobs; ours about each job go there too.
job_logger = logging.getLogger("django.tasks")

# What a database that went away raises: the server closed the connection, refused a new
# one, or is starting up or shutting down; and, while a restore or a migration replaces
# the tables, a missing table. None of them is a reason for the worker to exit.
CONNECTION_ERRORS = (DatabaseError, InterfaceError)

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
            logger.warning("Database unavailable; the worker keeps retrying until it is back (%s: %s).",
                           type(exc).__name__, " ".join(str(exc).split())[:200])
            self.wait = FIRST_BACKOFF_SECONDS
        else:
            self.wait = min(MAX_BACKOFF_SECONDS, self.wait * 2)
        return self.wait

    def succeeded(self) -> None:
        if self.since is not None:
            logger.info("Database available again; the worker carries on (outage lasted %.0fs).",
                        time.monotonic() - self.since)
            self.since, self.wait = None, FIRST_BACKOFF_SECONDS


def _close_connections() -> None:
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception:  # noqa: BLE001, S110  (a dead connection may fail to close; it is gone either way)
            pass


def gone_after() -> timedelta:
    return timedelta(seconds=settings.WORKER_GONE_AFTER_SECONDS)


def live_worker_ids(now: datetime | None = None) -> set[str]:
    cutoff = (now or timezone.now()) - gone_after()
    return set(WorkerHeartbeat.objects.filter(last_beat_at__gte=cutoff).values_list("worker_id", flat=True))


def _log_job_finished(sender: object, task_result: TaskResult, **kwargs: object) -> None:
    if task_result.status == TaskResultStatus.FAILED:
        exc_info = sys.exc_info()
        job_logger.error("Job id=%s path=%s failed", task_result.id, task_result.task.module_path,
                     exc_info=exc_info if exc_info[0] else None)
    elif job_logger.isEnabledFor(logging.DEBUG):
        job_logger.debug("Job id=%s path=%s %s", task_result.id, task_result.task.module_path, task_result.status)


def log_jobs_at_debug() -> None:
    """One log line per job, at DEBUG, when it ends (ERROR when it failed), instead of
    Django's two INFO lines (started, finished): at the default INFO, a busy worker writes
    nothing per job, and formatting those lines cost more than some of the jobs."""
    task_signals.task_started.disconnect(task_signals.log_task_started)
    task_signals.task_finished.disconnect(task_signals.log_task_finished)
    task_signals.task_finished.connect(_log_job_finished, dispatch_uid="ops.worker.log_job_finished")


# Jobs claimed per round on Postgres: enough to spread two commits over many jobs, few
# enough that a stop or a crash leaves little to return or run again.
CLAIM_BATCH = 50
_QUEUE_ORDER: list[Any] = list(DBTaskResult._meta.ordering or ())


def claim_jobs(jobs: QuerySet[DBTaskResult], worker_id: str, limit: int) -> list[DBTaskResult]:
    """Mark up to ``limit`` of ``jobs`` (ready ones) RUNNING for ``worker_id`` in one statement,
    skipping rows another worker has locked; returns them in queue order (Postgres)."""
    connection = connections[jobs.db]
    table = connection.ops.quote_name(DBTaskResult._meta.db_table)
    now = timezone.now()
    with transaction.atomic(using=jobs.db):
        # The queue's own filter and order, compiled by the ORM as the subquery that locks.
        picked, params = (jobs.select_for_update(skip_locked=True).order_by(*_QUEUE_ORDER)
                          .values_list("pk", flat=True)[:limit].query.sql_with_params())
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET status = %s, started_at = %s, worker_ids = worker_ids || %s::jsonb "
                f"WHERE id IN ({picked}) RETURNING id",
                [TaskResultStatus.RUNNING, now, json.dumps([worker_id]), *params])
            ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return []
    return list(DBTaskResult.objects.using(jobs.db).filter(pk__in=ids).order_by(*_QUEUE_ORDER))


def record_successes(finished: list[tuple[DBTaskResult, object]], using: str) -> None:
    """The batch's successful jobs, with their return values, in one transaction."""
    if not finished:
        return
    connection = connections[using]
    table = connection.ops.quote_name(DBTaskResult._meta.db_table)
    field = DBTaskResult._meta.get_field("return_value")
    rows = [(field.get_db_prep_save(value, connection), job.finished_at, job.pk) for job, value in finished]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET status = '{TaskResultStatus.SUCCESSFUL}', return_value = %s, finished_at = %s, "
            f"exception_class_path = '', traceback = '' WHERE id = %s AND status = '{TaskResultStatus.RUNNING}'",
            rows)


def return_unstarted(jobs: list[DBTaskResult], using: str) -> None:
    """Jobs claimed but not started (the worker is stopping) go back to the queue now."""
    if jobs:
        DBTaskResult.objects.using(using).filter(pk__in=[job.pk for job in jobs],
                                                 status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.READY, started_at=None)


# Enough for any real backlog of abandoned jobs; the next round takes the rest.
_MOST_JOBS_PER_ROUND = 1000


def jobs_of_gone_workers(now: datetime | None = None, *, live: set[str] | None = None,
                         ) -> list[tuple[str, datetime | None]]:
    """(id, started_at) of RUNNING jobs whose claiming worker has no recent heartbeat
    (``live``: the ids of the workers that have one, when the caller has read them)."""
    live = live_worker_ids(now) if live is None else live
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).values_list(
        "id", "started_at", "worker_ids")[:_MOST_JOBS_PER_ROUND]
    return [(str(job_id), started_at) for job_id, started_at, worker_ids in running
            if not worker_ids or worker_ids[-1] not in live]


def reap_jobs_of_gone_workers(now: datetime | None = None) -> int:
    """Return the RUNNING jobs of gone workers to the queue; how many were returned.

    Each job goes back with one conditional UPDATE on its status and start time: a job
    that finished meanwhile, or that another worker's reaper returned and a live worker
    claimed again, no longer matches and is left alone."""
    returned = 0
    for job_id, started_at in jobs_of_gone_workers(now):
        returned += DBTaskResult.objects.filter(
            pk=job_id, status=TaskResultStatus.RUNNING, started_at=started_at,
        ).update(status=TaskResultStatus.READY, started_at=None)
    if returned:
        logger.warning("Returned %d job(s) left running by a worker that is gone to the queue.", returned)
    return returned


class Heartbeat(threading.Thread):
    """Beats ``worker_id``'s heartbeat row until stopped; a failed beat is retried next time."""

    def __init__(self, worker_id: str) -> None:
        super().__init__(name=f"heartbeat-{worker_id[:8]}", daemon=True)
        self.worker_id = worker_id
        self.started_at = timezone.now()
        self.stopped = threading.Event()

    @staticmethod
    def interval() -> float:
        return max(0.2, settings.WORKER_GONE_AFTER_SECONDS / 6)

    def beat(self) -> None:
        now = timezone.now()
        updated = WorkerHeartbeat.objects.filter(pk=self.worker_id).update(last_beat_at=now)
        if not updated:
            # First beat, or the row went (a restore, a cleanup): write it again.
            WorkerHeartbeat.objects.update_or_create(pk=self.worker_id, defaults={
                "hostname": socket.gethostname()[:255], "pid": os.getpid(),
                "started_at": self.started_at, "last_beat_at": now})

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval()):
                try:
                    self.beat()
                except Exception:  # noqa: BLE001  (the database may be away; the main loop logs that)
                    _close_connections()
        finally:
            _close_connections()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)
        try:
            WorkerHeartbeat.objects.filter(pk=self.worker_id).delete()
        except Exception:  # noqa: BLE001, S110  (left behind, the row just goes stale)
            pass


class ResilientWorker(Worker):
    """django-tasks-db's worker whose loop survives the database going away."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.outage = DatabaseOutage()
        self.heartbeat = Heartbeat(self.worker_id)
        self.registered = False
        self.last_reap = 0.0

    def run(self) -> None:
        logger.info("Starting worker worker_id=%s queues=%s", self.worker_id, ",".join(self.queue_names))
        if self.startup_delay and self.interval:
            time.sleep(self.interval * 0.5)  # spread workers started together
        self.heartbeat.start()
        try:
            self.loop()
        finally:
            self.heartbeat.stop()

    def reap_if_due(self) -> None:
        if not self.registered:
            # The row exists before this worker claims anything, so its jobs are never
            # mistaken for a gone worker's.
            self.heartbeat.beat()
            self.registered = True
        if time.monotonic() - self.last_reap >= settings.WORKER_GONE_AFTER_SECONDS / 2:
            reap_jobs_of_gone_workers()
            self.last_reap = time.monotonic()

    def loop(self) -> None:
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
        """Claim and run a batch of jobs (Postgres) or one (SQLite): (ran any, found none ready)."""
        close_old_connections()
        self.reap_if_due()
        jobs = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            jobs = jobs.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            jobs = jobs.exclude(queue_name__in=self.excluded_queue_names)
        if connections[jobs.db].vendor == "postgresql":
            return self.run_batch(jobs)
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

    def run_batch(self, jobs: QuerySet[DBTaskResult]) -> tuple[bool, bool]:
        limit = CLAIM_BATCH if self.max_tasks is None else max(1, min(CLAIM_BATCH, self.max_tasks - self._run_tasks))
        claimed = claim_jobs(jobs, self.worker_id, limit)
        if not claimed:
            return False, True
        finished: list[tuple[DBTaskResult, object]] = []
        self.running_task = True  # a stop signal waits for the current job, not the batch
        try:
            for number, job in enumerate(claimed):
                if not self.running:
                    return_unstarted(claimed[number:], jobs.db)
                    break
                self.run_one(job, finished)
                close_old_connections()
        finally:
            self.running_task = False
            record_successes(finished, jobs.db)
        return True, False

    def run_one(self, job: DBTaskResult, finished: list[tuple[DBTaskResult, object]]) -> None:
        """django-tasks-db's ``run_task``, except that a success is recorded with the batch."""
        try:
            task = job.task
            task_result = job.task_result
            backend_type = type(task.get_backend())
            task_signals.task_started.send(sender=backend_type, task_result=task_result)
            if task.takes_context:
                from django.tasks.base import TaskContext

                value = task.call(TaskContext(task_result=task_result), *task_result.args, **task_result.kwargs)
            else:
                value = task.call(*task_result.args, **task_result.kwargs)
            json.dumps(value)  # a value the column cannot hold fails this job now, not the batch's write
            job.status, job.finished_at, job.return_value = TaskResultStatus.SUCCESSFUL, timezone.now(), value
            finished.append((job, value))
            task_signals.task_finished.send(sender=backend_type, task_result=job.task_result)
        except BaseException as exc:  # noqa: BLE001  (what django-tasks-db does: any failure is the job's)
            job.set_failed(exc)
            try:
                backend_type = type(job.task.get_backend())
                task_result = job.task_result
            except Exception:  # noqa: BLE001  (a job whose task is gone: its failure is recorded already)
                logger.exception("Job id=%s failed unexpectedly", job.id)
            else:
                task_signals.task_finished.send(sender=backend_type, task_result=task_result)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
        finally:
            self._run_tasks += 1
