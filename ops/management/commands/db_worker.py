"""``manage.py db_worker``: django-tasks-db's worker command, running ``ops.worker``'s loop,
which survives database restarts instead of exiting on the first connection error."""

from __future__ import annotations

import logging
import os
from typing import Any

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker as tasks_db_worker

from ops.worker import ResilientWorker, log_jobs_at_debug

# The loggers django-tasks-db's command sets from ``--verbosity``.
_WORKER_LOGGERS = ("django.tasks", "django_tasks_db")


class Command(tasks_db_worker.Command):
    help = "Run the background worker: claims and runs queued jobs, and outlives database restarts."

    def configure_logging(self, verbosity: int) -> None:
        """``LOG_LEVEL`` (through ``settings.LOGGING``) decides what the worker logs, as it does
        for the web tier; ``-v 0`` silences the worker's own loggers and ``-v 2`` or more turns
        them to DEBUG. The default ``-v 1`` changes nothing (django-tasks-db's command set
        INFO there, whatever ``LOG_LEVEL`` said, and added a second handler)."""
        log_jobs_at_debug()
        if verbosity == 1:
            return
        for name in _WORKER_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL if verbosity == 0 else logging.DEBUG)

    def handle(self, *, verbosity: int, queue_name: str, interval: float, batch: bool, backend_name: str,
               startup_delay: bool, reload: bool, max_tasks: int | None, worker_id: str, exclude_queues: str,
               **options: Any) -> None:
        self.configure_logging(verbosity)
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = ResilientWorker(queue_names=queue_names, interval=interval, batch=batch, backend_name=backend_name,
                                 startup_delay=startup_delay, max_tasks=max_tasks, worker_id=worker_id,
                                 excluded_queue_names=excluded)
        if reload and not batch:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
            return
        worker.configure_signals()
        worker.run()
