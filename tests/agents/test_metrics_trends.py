"""The dashboard's trends per UTC day, checked against a history whose answers are known."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents import metrics
from agents.models import ActivityEvent, Approval
from tests.conftest import make_agent, make_board, make_task

pytestmark = pytest.mark.django_db

# Noon on a Wednesday, UTC: "today" in every test below.
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
TODAY = date(2026, 6, 10)
HOUR = 3600.0


def at(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def event(board, event_type, when, *, task=None, data=None, agent=None):
    return ActivityEvent.objects.create(
        event_type=event_type, actor_type="agent" if agent else "system", actor_agent_id=agent.pk if agent else None,
        organization_id=board.organization_id, board_id=board.pk, task_id=task.pk if task else None,
        data=data or {}, created_at=when)


def created(board, task, when, status="inbox"):
    return event(board, "task.created", when, task=task, data={"status": status, "title": task.title})


def moved(board, task, to, when):
    return event(board, "task.status_changed", when, task=task, data={"from": "x", "to": to})


def trends(org, range_key="7d", **kwargs):
    return metrics.dashboard(metrics.Scope.of_organizations([org.pk]), range_key=range_key, now=NOW, **kwargs).trends


def by_day(rows):
    return {row.date: row for row in rows}


@pytest.mark.parametrize(("range_key", "days"), [("24h", 2), ("7d", 7), ("14d", 14), ("30d", 30), ("90d", 90)])
def test_every_day_of_the_range_has_a_row_and_days_without_data_are_zeros(org, board, range_key, days):
    rows = trends(org, range_key)

    assert [row.date for row in rows] == [TODAY - timedelta(days=n) for n in range(days - 1, -1, -1)]
    assert all(row.tasks_opened == 0 and row.tasks_closed == 0 and row.approvals_waiting == 0
               and row.approvals_opened == 0 and row.agents_active == 0 and row.cycle_time_samples == 0
               and row.median_cycle_time_seconds is None for row in rows)
    assert all(row.webhook_deliveries == metrics.DayDeliveries(0, 0, 0) for row in rows)


def test_an_event_a_second_before_utc_midnight_counts_on_the_day_before(org, board):
    late = make_task(board, "Late")
    early = make_task(board, "Early")
    created(board, late, at(days_ago(1), 23, 59, 59))
    created(board, early, at(TODAY, 0, 0, 0))

    rows = by_day(trends(org))
    assert rows[days_ago(1)].tasks_opened == 1
    assert rows[TODAY].tasks_opened == 1
    assert rows[days_ago(2)].tasks_opened == 0


def test_the_days_are_utc_days_whatever_the_time_zone_setting(org, board, settings):
    settings.TIME_ZONE = "Pacific/Auckland"  # UTC+12: 23:00 UTC is already the next day there
    task = make_task(board, "Evening")
    created(board, task, at(days_ago(1), 23))

    rows = by_day(trends(org))
    assert rows[days_ago(1)].tasks_opened == 1 and rows[TODAY].tasks_opened == 0


def test_tasks_opened_and_closed_per_day(org, board):
    quick = make_task(board, "Quick")
    created(board, quick, at(days_ago(3), 9))
    moved(board, quick, "in_progress", at(days_ago(3), 10))
    moved(board, quick, "done", at(days_ago(3), 11))
    # Reopened and done again the same day: one task closed that day, not two.
    moved(board, quick, "inbox", at(days_ago(3), 12))
    moved(board, quick, "done", at(days_ago(3), 13))
    born_done = make_task(board, "Born done")
    created(board, born_done, at(days_ago(1)), status="done")
    slow = make_task(board, "Slow")
    created(board, slow, at(days_ago(30)))  # before the range: not opened in it
    moved(board, slow, "done", at(TODAY, 8))

    rows = by_day(trends(org))
    assert (rows[days_ago(3)].tasks_opened, rows[days_ago(3)].tasks_closed) == (1, 1)
    assert (rows[days_ago(1)].tasks_opened, rows[days_ago(1)].tasks_closed) == (1, 1)
    assert (rows[TODAY].tasks_opened, rows[TODAY].tasks_closed) == (0, 1)
    assert sum(row.tasks_opened for row in rows.values()) == 2


def test_cycle_time_is_the_median_of_the_tasks_finished_each_day(org, board):
    for title, hours in (("One", 1), ("Two", 2), ("Six", 6)):
        task = make_task(board, title)
        moved(board, task, "in_progress", at(days_ago(2), 18) - timedelta(hours=hours))
        moved(board, task, "done", at(days_ago(2), 18))
    # Started in an earlier week, finished today: the clock ran from when work started.
    long = make_task(board, "Long")
    moved(board, long, "in_progress", at(days_ago(20)))
    moved(board, long, "done", at(TODAY, 6))
    never_started = make_task(board, "Never started")
    moved(board, never_started, "done", at(days_ago(1)))

    rows = by_day(trends(org))
    assert rows[days_ago(2)].median_cycle_time_seconds == pytest.approx(2 * HOUR)
    assert rows[days_ago(2)].cycle_time_samples == 3
    assert rows[TODAY].median_cycle_time_seconds == pytest.approx((20 * 24 - 6) * HOUR)
    # Finished without having been in progress: closed, but no cycle time.
    assert rows[days_ago(1)].tasks_closed == 1 and rows[days_ago(1)].median_cycle_time_seconds is None


def test_the_24_hour_range_shows_yesterday_whole_while_its_figures_keep_to_24_hours(org, board):
    task = make_task(board, "Morning")
    moved(board, task, "in_progress", at(days_ago(1), 1))
    moved(board, task, "done", at(days_ago(1), 2))  # 34 hours ago

    figures = metrics.dashboard(metrics.Scope.of_organizations([org.pk]), range_key="24h", now=NOW)
    assert figures.tasks_done_in_range == 0
    assert by_day(figures.trends)[days_ago(1)].median_cycle_time_seconds == pytest.approx(HOUR)


def test_approvals_waiting_are_counted_at_the_end_of_each_day(org, board):
    def approval(created_at, status="pending", resolved_at=None):
        return Approval.objects.create(board=board, action_type="mark_done", status=status, created_at=created_at,
                                       resolved_at=resolved_at)

    approval(at(days_ago(20)))                                               # waiting throughout
    approval(at(days_ago(20)), "approved", at(days_ago(10)))                 # resolved before the range
    approval(at(days_ago(4)), "rejected", at(days_ago(2), 9))                # waited days 4 and 3
    approval(at(days_ago(3)), "approved", at(days_ago(3), 15))               # asked and resolved the same day
    approval(at(TODAY, 9))                                                   # waiting now

    figures = metrics.dashboard(metrics.Scope.of_organizations([org.pk]), range_key="7d", now=NOW)
    rows = by_day(figures.trends)
    assert [rows[days_ago(n)].approvals_waiting for n in range(6, -1, -1)] == [1, 1, 2, 2, 1, 1, 2]
    assert [rows[days_ago(n)].approvals_opened for n in range(6, -1, -1)] == [0, 0, 1, 1, 0, 0, 1]
    assert rows[TODAY].approvals_waiting == figures.pending_approvals


def test_agents_active_are_the_distinct_agents_acting_each_day(org, board, gateway):
    first = make_agent("First", board=board)
    second = make_agent("Second", board=board)
    for minute in range(3):
        event(board, "agent.heartbeat", at(days_ago(1), 10, minute), agent=first)
    event(board, "task.commented", at(days_ago(1), 11), agent=second)
    event(board, "agent.heartbeat", at(TODAY, 1), agent=second)
    event(board, "board.updated", at(TODAY, 2))  # a person's change says nothing of agents

    rows = by_day(trends(org))
    assert rows[days_ago(1)].agents_active == 2
    assert rows[TODAY].agents_active == 1
    assert rows[days_ago(2)].agents_active == 0


def test_webhook_deliveries_per_day_by_where_they_stand(org, board, worker):
    from webhooks.models import Webhook, WebhookDelivery, WebhookPayload

    webhook = Webhook.objects.create(board=board, description="CI events")
    for when, status in ((at(days_ago(2)), "delivered"), (at(days_ago(2)), "dead"), (at(days_ago(2)), "pending"),
                         (at(TODAY, 1), "failed"), (at(days_ago(40)), "failed")):
        payload = WebhookPayload.objects.create(webhook=webhook, board=board, payload={"n": status})
        WebhookDelivery.objects.create(payload=payload, agent=worker, status=status, created_at=when)

    rows = by_day(trends(org))
    assert rows[days_ago(2)].webhook_deliveries == metrics.DayDeliveries(total=3, delivered=1, failed=1)
    assert rows[TODAY].webhook_deliveries == metrics.DayDeliveries(total=1, delivered=0, failed=1)
    assert sum(row.webhook_deliveries.total for row in rows.values()) == 4


def test_a_board_filter_and_other_organizations_stay_out_of_the_trends(org, board):
    from tests.conftest import make_org

    second = make_board(org, "Second")
    elsewhere = make_board(make_org("Globex"), "Globex board")
    created(board, make_task(board, "Here"), at(TODAY, 1))
    created(second, make_task(second, "There"), at(TODAY, 1))
    created(elsewhere, make_task(elsewhere, "Not ours"), at(TODAY, 1))

    assert by_day(trends(org))[TODAY].tasks_opened == 2
    assert by_day(trends(org, board_id=second.pk))[TODAY].tasks_opened == 1


def _history(board, worker, size):
    for n in range(size):
        day = days_ago(n % 30)
        task = make_task(board, f"Task {n}")
        created(board, task, at(day, 8))
        moved(board, task, "in_progress", at(day, 9))
        moved(board, task, "done", at(day, 10))
        event(board, "agent.heartbeat", at(day, 11), agent=worker)
        Approval.objects.create(board=board, action_type="mark_done", created_at=at(day, 8),
                                status="approved" if n % 2 else "pending",
                                resolved_at=at(day, 9) if n % 2 else None)


def test_the_trends_cost_the_same_queries_for_3_rows_and_30(org, board, worker):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            rows = metrics.dashboard(metrics.Scope.of_organizations([org.pk]), range_key="90d", now=NOW).trends
        assert len(rows) == 90
        return len(captured.captured_queries)

    _history(board, worker, 3)
    small = queries()
    _history(board, worker, 27)
    assert queries() == small
    assert by_day(trends(org, "90d"))[TODAY].tasks_closed == 2
