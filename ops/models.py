"""The one table of ``ops``: which background workers are alive."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """A running ``db_worker`` and the last time it said so (every few seconds, from a thread
    of its own, so a long job does not stop it). A job left RUNNING is stale exactly when
    the worker that claimed it has no recent heartbeat: its process is gone."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    last_beat_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["worker_id"]

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.hostname}:{self.pid})"
