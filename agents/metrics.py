"""The dashboard figures: work by status, throughput, cycle time, agents, approvals, deliveries,
and their trends per day over the chosen range, counted within a ``Scope``: for a person,
the boards, agents and activity they may see.

Cycle time is read from the activity record (``task.created`` / ``task.status_changed``
events), not from ``Task.in_progress_at``, which a later restart overwrites and which
says nothing about tasks deleted since. Medians are computed in Python so the same code
runs on Postgres and SQLite; the rows read are only the status events of the tasks
finished in the range.

The trends count per UTC day in the database (``GROUP BY`` a ``TruncDate`` in UTC), one
query per source whatever the number of days or rows; the per-day medians of cycle time
come from the same status history the headline median reads. Mission Control keeps no
history of presence, so the agents' trend is the number of distinct agents the activity
record shows acting each day (a heartbeat is recorded at most once a minute per agent,
and every write an agent makes is recorded too).
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from agents import access
from agents.models import PRESENCE_ONLINE_WINDOW, ActivityEvent, Agent, Approval, Board, Task, User

RANGES: dict[str, timedelta] = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "14d": timedelta(days=14),
                                 "30d": timedelta(days=30), "90d": timedelta(days=90)}
DEFAULT_RANGE = "24h"
# UTC days in each range's trends, today (so far) the last: the last 24 hours touch two days.
TREND_DAYS: dict[str, int] = {"24h": 2, "7d": 7, "14d": 14, "30d": 30, "90d": 90}

STATUS_CHANGED = "task.status_changed"
CREATED = "task.created"
DONE = Task.Status.DONE
IN_PROGRESS = Task.Status.IN_PROGRESS


@dataclass(frozen=True)
class Scope:
    """What the figures count: the boards (their tasks, approvals and deliveries), the agents
    and the activity record. A person's scope is what they may see (``of_person``): a member
    limited to some boards counts those boards alone."""

    boards: QuerySet[Board]
    agents: QuerySet[Agent]
    events: QuerySet[ActivityEvent]

    @classmethod
    def of_person(cls, user: User) -> Scope:
        return cls(boards=access.visible_boards(user), agents=access.visible_agents(user),
                   events=access.activity_of_visible_boards(user))

    @classmethod
    def of_organizations(cls, organization_ids: Iterable[uuid.UUID]) -> Scope:
        ids = list(organization_ids)
        return cls(boards=Board.objects.filter(organization_id__in=ids),
                   agents=Agent.objects.filter(organization_id__in=ids),
                   events=ActivityEvent.objects.filter(organization_id__in=ids))

    def narrowed_to(self, board_id: uuid.UUID | None) -> Scope:
        if board_id is None:
            return self
        return Scope(boards=self.boards.filter(pk=board_id), agents=self.agents.filter(board_id=board_id),
                     events=self.events.filter(board_id=board_id))


@dataclass
class DeliveryFigures:
    total: int
    failed: int
    failed_share: float | None


@dataclass
class DayDeliveries:
    total: int
    delivered: int
    failed: int


@dataclass
class TrendDay:
    """One UTC day of the trends (today: so far)."""

    date: date
    tasks_opened: int
    tasks_closed: int
    median_cycle_time_seconds: float | None
    cycle_time_samples: int
    approvals_opened: int
    approvals_waiting: int
    agents_active: int
    webhook_deliveries: DayDeliveries | None


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
    trends: list[TrendDay] = field(default_factory=list)

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


@dataclass
class Finish:
    """A task entering ``done``, and its cycle time when it had been in progress."""

    task_id: uuid.UUID
    at: datetime
    cycle_seconds: float | None


def finishes(events: Iterable[tuple[uuid.UUID | None, str, datetime, Any]], start: datetime,
             end: datetime) -> list[Finish]:
    """Every time a task entered ``done`` in ``[start, end)``, with its cycle time.

    ``events`` are ``(task_id, event_type, created_at, data)`` in time order. A cycle starts
    when a task first enters ``in_progress`` after its previous ``done`` (or its creation)
    and ends when it enters ``done``; a task finished without ever being in progress gives
    no cycle time. Work sent back to inbox or review in between still counts: the clock runs
    from when work started."""
    started: dict[uuid.UUID, datetime] = {}
    found: list[Finish] = []
    for task_id, event_type, at, data in events:
        if task_id is None:  # an event about no task in particular
            continue
        status = _new_status(event_type, data)
        if status == IN_PROGRESS:
            started.setdefault(task_id, at)
        elif status == DONE:
            began = started.pop(task_id, None)
            if start <= at < end:
                found.append(Finish(task_id, at, (at - began).total_seconds() if began is not None else None))
    return found


def cycle_times(events: Iterable[tuple[uuid.UUID | None, str, datetime, Any]], start: datetime,
                end: datetime) -> tuple[set[uuid.UUID], list[float]]:
    """Tasks finished in ``[start, end)`` and their cycle times in seconds (see ``finishes``)."""
    found = finishes(events, start, end)
    return ({f.task_id for f in found}, [f.cycle_seconds for f in found if f.cycle_seconds is not None])


def per_day(queryset: QuerySet[Any], field_name: str, **counts: Any) -> dict[date, dict[str, Any]]:
    """``counts`` (aggregates) of ``queryset`` per UTC day of ``field_name``, in one query;
    days without rows are absent."""
    rows = (queryset.annotate(day=TruncDate(field_name, tzinfo=UTC)).values("day").annotate(**counts)
            .order_by("day"))
    return {row["day"]: row for row in rows}


def trend_days(range_key: str, end: datetime) -> tuple[list[date], datetime]:
    """The UTC days of a range's trends, oldest first, and the midnight the first begins at."""
    today = end.astimezone(UTC).date()
    days = [today - timedelta(days=back) for back in range(TREND_DAYS[range_key] - 1, -1, -1)]
    return days, datetime.combine(days[0], time.min, tzinfo=UTC)


# Figures another app contributes (the webhooks app counts its deliveries), registered
# from its AppConfig.ready() so that this module imports no other app.
DeliveryCounter = Callable[[QuerySet[Board], datetime], DeliveryFigures]
DeliveryTrend = Callable[[QuerySet[Board], datetime, datetime], dict[date, DayDeliveries]]
_delivery_counter: DeliveryCounter | None = None
_delivery_trend: DeliveryTrend | None = None


def register_delivery_figures(counter: DeliveryCounter, trend: DeliveryTrend | None = None) -> None:
    """``counter(boards, start)`` answers the webhook deliveries figures of those boards;
    ``trend(boards, start, end)`` their deliveries per UTC day."""
    global _delivery_counter, _delivery_trend
    _delivery_counter = counter
    _delivery_trend = trend


def _deliveries(boards: QuerySet[Board], start: datetime) -> DeliveryFigures | None:
    return _delivery_counter(boards, start) if _delivery_counter is not None else None


def _trends(days: list[date], since: datetime, end: datetime, events: QuerySet[ActivityEvent],
            approvals: QuerySet[Approval], done: list[Finish],
            deliveries: dict[date, DayDeliveries] | None) -> list[TrendDay]:
    """The per-day series: five queries whatever the number of days or rows."""
    created = Q(event_type=CREATED, task_id__isnull=False)
    finished = Q(task_id__isnull=False) & (Q(event_type=STATUS_CHANGED, data__to=DONE)
                                           | Q(event_type=CREATED, data__status=DONE))
    by_agent = Q(actor_type=ActivityEvent.ActorType.AGENT, actor_agent_id__isnull=False)
    work = per_day(events.filter(created_at__gte=since, created_at__lt=end)
                   .filter(Q(event_type__in=(CREATED, STATUS_CHANGED)) | by_agent), "created_at",
                   opened=Count("task_id", distinct=True, filter=created),
                   closed=Count("task_id", distinct=True, filter=finished),
                   agents=Count("actor_agent_id", distinct=True, filter=by_agent))

    # An approval waits from its creation until it is resolved; one resolved without a
    # resolution time (none is written that way) would wait forever, so it is left out.
    counted = approvals.filter(Q(status=Approval.Status.PENDING) | Q(resolved_at__isnull=False))
    waiting = counted.filter(created_at__lt=since).exclude(resolved_at__lt=since).count()
    asked = per_day(counted.filter(created_at__gte=since, created_at__lt=end), "created_at", n=Count("id"))
    resolved = per_day(counted.filter(resolved_at__gte=since, resolved_at__lt=end), "resolved_at", n=Count("id"))

    cycles: dict[date, list[float]] = {}
    for finish in done:
        if finish.cycle_seconds is not None and finish.at >= since:
            cycles.setdefault(finish.at.astimezone(UTC).date(), []).append(finish.cycle_seconds)

    series = []
    for day in days:
        row = work.get(day, {})
        opened = asked.get(day, {}).get("n", 0)
        waiting += opened - resolved.get(day, {}).get("n", 0)
        samples = cycles.get(day, [])
        series.append(TrendDay(
            date=day, tasks_opened=row.get("opened", 0), tasks_closed=row.get("closed", 0),
            median_cycle_time_seconds=statistics.median(samples) if samples else None,
            cycle_time_samples=len(samples), approvals_opened=opened, approvals_waiting=waiting,
            agents_active=row.get("agents", 0),
            webhook_deliveries=None if deliveries is None else deliveries.get(day, DayDeliveries(0, 0, 0))))
    return series


def dashboard(scope: Scope, *, board_id: uuid.UUID | None = None, range_key: str = DEFAULT_RANGE,
              now: datetime | None = None) -> Dashboard:
    """The figures of ``scope`` (and of one board of it, when given)."""
    end = now or timezone.now()
    start = end - RANGES[range_key]
    days, since = trend_days(range_key, end)

    scope = scope.narrowed_to(board_id)
    boards = scope.boards.values("pk")
    tasks = Task.objects.filter(board_id__in=boards)
    approvals = Approval.objects.filter(board_id__in=boards)
    agents, events = scope.agents, scope.events

    by_status = {status: 0 for status in Task.Status.values}
    for row in tasks.values("status").annotate(n=Count("id")).order_by():
        by_status[row["status"]] = row["n"]

    status_events = events.filter(event_type__in=(STATUS_CHANGED, CREATED), task_id__isnull=False)
    # The trends may begin before the range (the 24-hour range shows yesterday whole), so the
    # history read covers both; each figure keeps to its own window below.
    earliest = min(start, since)
    finished_in_range = status_events.filter(created_at__gte=earliest, created_at__lt=end).filter(
        Q(event_type=STATUS_CHANGED, data__to=DONE) | Q(event_type=CREATED, data__status=DONE))
    history = (status_events.filter(task_id__in=finished_in_range.values("task_id"), created_at__lt=end)
               .order_by("created_at", "id").values_list("task_id", "event_type", "created_at", "data"))
    done = finishes(history.iterator(chunk_size=2000), earliest, end)
    in_range = [f for f in done if f.at >= start]
    finished = {f.task_id for f in in_range}
    samples = [f.cycle_seconds for f in in_range if f.cycle_seconds is not None]
    delivery_days = _delivery_trend(scope.boards, since, end) if _delivery_trend is not None else None

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
        webhook_deliveries=_deliveries(scope.boards, start),
        trends=_trends(days, since, end, events, approvals, done, delivery_days),
    )

