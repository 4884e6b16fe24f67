"""``manage.py reap_tasks``: give jobs a dead worker left RUNNING back to the queue."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

DEFAULT_OLDER_THAN_SECONDS = 900


def positive_seconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ArgumentTypeError(f"{text!r} is not a whole number of seconds of at least 1")
    return value


def reap_stale_jobs(older_than: timedelta, *, now: datetime | None = None) -> int:
    """Return RUNNING jobs started more than ``older_than`` ago to READY; how many were returned.

    A worker that crashes (OOM kill, lost host) leaves its job RUNNING for ever: no other
    worker picks RUNNING jobs. One conditional UPDATE moves them back, and the status in
    its WHERE clause means a job that finished meanwhile is left alone. Jobs must be safe
    to run twice (delivery jobs are: they check their delivery's state first).
    """
    cutoff = (now or timezone.now()) - older_than
    return DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff).update(
        status=TaskResultStatus.READY, started_at=None)


class Command(BaseCommand):
    help = ("Return background jobs stuck in RUNNING (their worker died) to the queue. Safe to run "
            "from cron at any time: each job is returned by one conditional update, so overlapping "
            "runs cannot return a job twice. Pick --older-than above your longest job.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--older-than", type=positive_seconds, default=DEFAULT_OLDER_THAN_SECONDS,
                            metavar="SECONDS",
                            help=f"Only jobs running for longer than this (default: {DEFAULT_OLDER_THAN_SECONDS}).")

    def handle(self, *args: Any, **options: Any) -> None:
        seconds = options["older_than"]
        count = reap_stale_jobs(timedelta(seconds=seconds))
        self.stdout.write(f"Returned {count} stale job{'' if count == 1 else 's'} (running over {seconds}s) "
                          "to the queue.")
