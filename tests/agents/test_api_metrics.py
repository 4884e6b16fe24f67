"""The dashboard figures, checked against a history whose answers are known."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents import metrics
from agents.models import ActivityEvent, Agent
from tests.agents.api_helpers import assert_refused, pending_approval
from tests.conftest import make_agent, make_board, make_task

pytestmark = pytest.mark.django_db

HOUR = 3600.0


def status_event(board, task, to, hours_ago, *, created=False):
    """A ``task.status_changed`` (or ``task.created``) event ``hours_ago`` before now."""
    if created:
        event_type, data = "task.created", {"status": to, "title": task.title}
    else:
        event_type, data = "task.status_changed", {"from": "x", "to": to}
    return ActivityEvent.objects.create(
        event_type=event_type, actor_type="system", organization_id=board.organization_id, board_id=board.pk,
        task_id=task.pk, data=data, created_at=timezone.now() - timedelta(hours=hours_ago))


@pytest.fixture
def history(board):
    """Five tasks with known cycles inside the last 24 hours (and one older)."""
    reviewed = make_task(board, "Reviewed", status="done")
    status_event(board, reviewed, "in_progress", 5)
    status_event(board, reviewed, "review", 3)
    status_event(board, reviewed, "done", 1)                     # cycle 4 h

    started_on_create = make_task(board, "Started on create", status="done")
    status_event(board, started_on_create, "in_progress", 3, created=True)
    status_event(board, started_on_create, "done", 2)             # cycle 1 h

    never_started = make_task(board, "Never started", status="done")
    status_event(board, never_started, "inbox", 6, created=True)
    status_event(board, never_started, "done", 0.5)               # done, no cycle

    reopened = make_task(board, "Reopened", status="done")
    status_event(board, reopened, "in_progress", 20)
    status_event(board, reopened, "done", 19)                     # cycle 1 h
    status_event(board, reopened, "inbox", 18)
    status_event(board, reopened, "in_progress", 6)
    status_event(board, reopened, "done", 4)                      # cycle 2 h

    old = make_task(board, "Old", status="done")
    status_event(board, old, "in_progress", 24 * 10)
    status_event(board, old, "done", 24 * 9)                      # 24 h cycle, 9 days ago

    make_task(board, "Waiting")
    make_task(board, "Busy", status="in_progress")
    return board


def figures(client, **query):
    response = client.get("/api/v1/metrics/dashboard", query)
    assert response.status_code == 200, response.content
    return response.json()


def test_median_cycle_time_comes_from_the_activity_record(client_for, member, history):
    body = figures(client_for(member), range_key="24h")

    assert body["tasks_done_in_range"] == 4
    assert body["cycle_time_samples"] == 4
    assert body["median_cycle_time_seconds"] == pytest.approx(1.5 * HOUR, abs=1)


def test_a_wider_range_takes_in_older_work(client_for, member, history):
    body = figures(client_for(member), range_key="30d")

    assert body["tasks_done_in_range"] == 5
    assert body["cycle_time_samples"] == 5
    assert body["median_cycle_time_seconds"] == pytest.approx(2 * HOUR, abs=1)
    assert body["range_key"] == "30d"


def test_tasks_per_status_count_the_board_as_it_is(client_for, member, history):
    body = figures(client_for(member))
    assert body["tasks_by_status"] == {"inbox": 1, "in_progress": 1, "review": 0, "done": 5}
    assert body["tasks_total"] == 7
    assert body["range_key"] == "24h"


def test_a_board_filter_leaves_other_boards_out(client_for, member, history, org):
    second = make_board(org, "Second")
    other_task = make_task(second, "Elsewhere", status="done")
    status_event(second, other_task, "in_progress", 2)
    status_event(second, other_task, "done", 1)

    everywhere = figures(client_for(member))
    only_second = figures(client_for(member), board_id=str(second.pk))

    assert everywhere["tasks_done_in_range"] == 5
    assert only_second["tasks_done_in_range"] == 1
    assert only_second["median_cycle_time_seconds"] == pytest.approx(HOUR, abs=1)
    assert only_second["tasks_by_status"]["done"] == 1


def test_no_finished_work_gives_no_median(client_for, member, board):
    body = figures(client_for(member))
    assert body["tasks_done_in_range"] == 0 and body["median_cycle_time_seconds"] is None


def test_a_deleted_task_still_counts_in_the_history(client_for, member, board):
    task = make_task(board, "Gone")
    status_event(board, task, "in_progress", 3)
    status_event(board, task, "done", 1)
    task.delete()
    body = figures(client_for(member))
    assert body["tasks_done_in_range"] == 1 and body["median_cycle_time_seconds"] == pytest.approx(2 * HOUR, abs=1)


def test_agents_online_are_those_seen_in_the_last_ten_minutes(client_for, member, board, gateway):
    now = timezone.now()
    make_agent("Fresh", board=board, last_seen_at=now - timedelta(minutes=2))
    make_agent("Stale", board=board, last_seen_at=now - timedelta(minutes=11))
    make_agent("New", board=board)
    make_agent("Broken", board=board, last_seen_at=now, lifecycle_status=Agent.Lifecycle.ERROR)
    body = figures(client_for(member))
    assert body["agents_online"] == 1 and body["agents_total"] == 4


def test_pending_approvals_are_counted(client_for, member, board):
    pending_approval(board, make_task(board, "A"))
    pending_approval(board, make_task(board, "B"))
    pending_approval(board, make_task(board, "C"), status="rejected")
    assert figures(client_for(member))["pending_approvals"] == 2


def test_the_share_of_failed_deliveries(client_for, member, board, worker):
    from webhooks.models import Webhook, WebhookDelivery, WebhookPayload

    webhook = Webhook.objects.create(board=board, description="CI events")
    for status in ("delivered", "delivered", "failed", "dead"):
        payload = WebhookPayload.objects.create(webhook=webhook, board=board, payload={"n": status})
        WebhookDelivery.objects.create(payload=payload, agent=worker, status=status)

    deliveries = figures(client_for(member))["webhook_deliveries"]
    assert deliveries == {"total": 4, "failed": 2, "failed_share": 0.5}


def test_without_deliveries_the_share_is_null(client_for, member, board):
    assert figures(client_for(member))["webhook_deliveries"] == {"total": 0, "failed": 0, "failed_share": None}


def test_other_organizations_are_never_counted(client_for, outsider, history):
    body = figures(client_for(outsider))
    assert body["tasks_total"] == 0 and body["tasks_done_in_range"] == 0


def test_a_board_of_another_organization_is_not_found(client_for, outsider, board):
    assert_refused(client_for(outsider).get(f"/api/v1/metrics/dashboard?board_id={board.pk}"), 404)


@pytest.mark.parametrize("range_key", ["1h", "week", "24H", "365d", "0d"])
def test_an_unknown_range_is_422(client_for, member, board, range_key):
    body = assert_refused(client_for(member).get(f"/api/v1/metrics/dashboard?range_key={range_key}"), 422)
    assert "range_key" in body["detail"]


def test_work_done_through_the_api_reaches_the_dashboard(client_for, admin_user, board, worker):
    board.require_approval_for_done = False
    board.save()
    client = client_for(admin_user)
    task = client.post(f"/api/v1/boards/{board.pk}/tasks", {"title": "Real"}, format="json").json()
    for status in ("in_progress", "done"):
        client.patch(f"/api/v1/boards/{board.pk}/tasks/{task['id']}",
                     {"status": status, "assigned_agent_id": str(worker.pk)}, format="json")

    body = figures(client)
    assert body["tasks_done_in_range"] == 1 and body["cycle_time_samples"] == 1
    assert 0 <= body["median_cycle_time_seconds"] < 60


def test_cycle_times_ignore_finishes_outside_the_range():
    now = timezone.now()
    start = now - timedelta(hours=1)
    events = [("t", "task.status_changed", now - timedelta(hours=3), {"to": "in_progress"}),
              ("t", "task.status_changed", now - timedelta(hours=2), {"to": "done"})]
    finished, samples = metrics.cycle_times(events, start, now)
    assert finished == set() and samples == []


def test_the_trends_have_a_row_per_utc_day_of_the_range(client_for, member, history):
    body = figures(client_for(member), range_key="90d")
    rows = body["trends"]

    assert len(rows) == 90 and rows[-1]["date"] == timezone.now().date().isoformat()
    # Four tasks closed once; the reopened one closed 19 h and 4 h ago, and counts on each UTC
    # day it closed on: one day or two, by the time of day the test runs.
    now = timezone.now()
    reopened_days = len({(now - timedelta(hours=19)).date(), (now - timedelta(hours=4)).date()})
    assert sum(row["tasks_closed"] for row in rows) == 4 + reopened_days
    assert set(rows[-1]) == {"date", "tasks_opened", "tasks_closed", "median_cycle_time_seconds",
                             "cycle_time_samples", "approvals_opened", "approvals_waiting", "agents_active",
                             "webhook_deliveries"}
    assert rows[0]["webhook_deliveries"] == {"total": 0, "delivered": 0, "failed": 0}


def test_the_24_hour_trends_show_yesterday_and_today(client_for, member, board):
    rows = figures(client_for(member))["trends"]
    today = timezone.now().date()
    assert [row["date"] for row in rows] == [(today - timedelta(days=1)).isoformat(), today.isoformat()]


@pytest.fixture
def limited_member(admin_user, member, org, board, gateway):
    """``member`` limited to ``board``; a hidden board beside it with its own work."""
    from agents import rules
    from agents.models import Membership

    hidden = make_board(org, "Payroll", gateway=gateway)
    for n in range(3):
        task = make_task(hidden, f"Pay {n}", status="done")
        status_event(hidden, task, "in_progress", 3, created=True)
        status_event(hidden, task, "done", 1)
        pending_approval(hidden, task)
    make_agent("Payroll worker", board=hidden, gateway=gateway, last_seen_at=timezone.now())
    ActivityEvent.objects.create(event_type="agent.heartbeat", actor_type="agent", organization_id=org.pk,
                                 actor_agent_id=make_agent("Main", gateway=gateway).pk)
    rules.set_board_access(admin_user, Membership.objects.get(user=member), {
        "all_boards_read": False, "all_boards_write": False, "boards": [{"board_id": str(board.pk)}]})
    return hidden


def test_a_member_limited_to_some_boards_counts_only_those(client_for, admin_user, member, board, worker,
                                                           limited_member):
    task = make_task(board, "Mine", status="done")
    status_event(board, task, "in_progress", 2, created=True)
    status_event(board, task, "done", 1)
    pending_approval(board, task)

    mine = figures(client_for(member), range_key="7d")
    everything = figures(client_for(admin_user), range_key="7d")

    assert (mine["tasks_total"], mine["tasks_done_in_range"], mine["pending_approvals"]) == (1, 1, 1)
    assert (everything["tasks_total"], everything["tasks_done_in_range"], everything["pending_approvals"]) == (4, 4, 4)
    assert (mine["agents_total"], everything["agents_total"]) == (1, 3)
    assert mine["median_cycle_time_seconds"] == pytest.approx(HOUR, abs=5)
    assert everything["median_cycle_time_seconds"] == pytest.approx(2 * HOUR, abs=5)

    def summed(body, name):  # over the days: the hours-old events may fall on yesterday
        return sum(day[name] for day in body["trends"])

    assert [summed(mine, n) for n in ("tasks_opened", "tasks_closed", "agents_active")] == [1, 1, 0]
    # The main agent is not theirs: its organization-wide heartbeat counts for the admin only.
    assert [summed(everything, n) for n in ("tasks_opened", "tasks_closed", "agents_active")] == [4, 4, 1]
    assert (mine["trends"][-1]["approvals_waiting"], everything["trends"][-1]["approvals_waiting"]) == (1, 4)


def test_a_limited_member_asking_for_a_hidden_boards_figures_gets_404(client_for, member, limited_member):
    assert_refused(client_for(member).get(f"/api/v1/metrics/dashboard?board_id={limited_member.pk}"), 404)
