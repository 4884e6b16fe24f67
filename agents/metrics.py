"""The dashboard figures: work by status, throughput, cycle time, agents, approvals, deliveries.

Cycle time is read from the activity record (``task.created`` / ``task.status_changed``
events), not from ``Task.in_progress_at``, which a later restart overwrites and which
says nothing about tasks deleted since. Medians are computed in Python so the same code
runs on Postgres and SQLite; the rows read are only the status events of the tasks
finished in the range.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from agents.models import PRESENCE_ONLINE_WINDOW, ActivityEvent, Agent, Approval, Task

RANGES: dict[str, timedelta] = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
DEFAULT_RANGE = "24h"

STATUS_CHANGED = "task.status_changed"
CREATED = "task.created"
DONE = Task.Status.DONE
IN_PROGRESS = Task.Status.IN_PROGRESS


@dataclass
class DeliveryFigures:
    total: int
    failed: int
    failed_share: float | None


@dataclass
class Dashboard:
    range_key: str
    range_start: datetime
    range_end: datetime
    board_id: uuid.UUID | None
    tasks_by_status: dict[str, int]
    tasks_total: int
    tasks_done_in_range: int
    median_cycle_time_seconds: float | None
    cycle_time_samples: int
    agents_online: int
    agents_total: int
    pending_approvals: int
    webhook_deliveries: DeliveryFigures | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _new_status(event_type: str, data: Any) -> str | None:
    """The status a task entered with this event, if it entered one."""
    if not isinstance(data, dict):
        return None
    if event_type == STATUS_CHANGED:
        return data.get("to")
    if event_type == CREATED:
        return data.get("status")
    return None


def cycle_times(events: Iterable[tuple[uuid.UUID | None, str, datetime, Any]], start: datetime,
                end: datetime) -> tuple[set[uuid.UUID], list[float]]:
    """Tasks finished in ``[start, end)`` and their cycle times in seconds.

    ``events`` are ``(task_id, event_type, created_at, data)`` in time order. A cycle starts
    when a task first enters ``in_progress`` after its previous ``done`` (or its creation)
    and ends when it enters ``done``; a task finished without ever being in progress gives
    no sample. Work sent back to inbox or review in between still counts: the clock runs
    from when work started."""
    started: dict[uuid.UUID, datetime] = {}
    finished: set[uuid.UUID] = set()
    samples: list[float] = []
    for task_id, event_type, at, data in events:
        if task_id is None:  # an event about no task in particular
            continue
        status = _new_status(event_type, data)
        if status == IN_PROGRESS:
            started.setdefault(task_id, at)
        elif status == DONE:
            began = started.pop(task_id, None)
            if start <= at < end:
                finished.add(task_id)
                if began is not None:
                    samples.append((at - began).total_seconds())
    return finished, samples


# Figures another app contributes (the webhooks app counts its deliveries), registered
# from its AppConfig.ready() so that this module imports no other app.
DeliveryCounter = Callable[[Any, "uuid.UUID | None", datetime], DeliveryFigures]
_delivery_counter: DeliveryCounter | None = None


def register_delivery_figures(counter: DeliveryCounter) -> None:
    """``counter(organization_ids, board_id, start)`` answers the webhook deliveries figures."""
    global _delivery_counter
    _delivery_counter = counter


def _deliveries(organization_ids: Any, board_id: uuid.UUID | None, start: datetime) -> DeliveryFigures | None:
    return _delivery_counter(organization_ids, board_id, start) if _delivery_counter is not None else None


def dashboard(organization_ids: QuerySet[Any] | list[uuid.UUID], *, board_id: uuid.UUID | None = None,
              range_key: str = DEFAULT_RANGE, now: datetime | None = None) -> Dashboard:
    """The figures for the given organizations (and one board, when given)."""
    end = now or timezone.now()
    start = end - RANGES[range_key]

    tasks = Task.objects.filter(board__organization_id__in=organization_ids)
    agents = Agent.objects.filter(organization_id__in=organization_ids)
    approvals = Approval.objects.filter(board__organization_id__in=organization_ids)
    events = ActivityEvent.objects.filter(organization_id__in=organization_ids)
    if board_id is not None:
        tasks, agents = tasks.filter(board_id=board_id), agents.filter(board_id=board_id)
        approvals, events = approvals.filter(board_id=board_id), events.filter(board_id=board_id)

    by_status = {status: 0 for status in Task.Status.values}
    for row in tasks.values("status").annotate(n=Count("id")).order_by():
        by_status[row["status"]] = row["n"]

    status_events = events.filter(event_type__in=(STATUS_CHANGED, CREATED), task_id__isnull=False)
    finished_in_range = status_events.filter(created_at__gte=start, created_at__lt=end).filter(
        Q(event_type=STATUS_CHANGED, data__to=DONE) | Q(event_type=CREATED, data__status=DONE))
    history = (status_events.filter(task_id__in=finished_in_range.values("task_id"), created_at__lt=end)
               .order_by("created_at", "id").values_list("task_id", "event_type", "created_at", "data"))
    finished, samples = cycle_times(history.iterator(chunk_size=2000), start, end)

    return Dashboard(
        range_key=range_key,
        range_start=start,
        range_end=end,
        board_id=board_id,
        tasks_by_status=by_status,
        tasks_total=sum(by_status.values()),
        tasks_done_in_range=len(finished),
        median_cycle_time_seconds=statistics.median(samples) if samples else None,
        cycle_time_samples=len(samples),
        agents_online=agents.filter(lifecycle_status=Agent.Lifecycle.ACTIVE,
                                    last_seen_at__gte=end - PRESENCE_ONLINE_WINDOW).count(),
        agents_total=agents.count(),
        pending_approvals=approvals.filter(status=Approval.Status.PENDING).count(),
        webhook_deliveries=_deliveries(organization_ids, board_id, start),
    )

