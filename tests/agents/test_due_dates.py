"""Due dates on tasks: what overdue means, the task list filters of both APIs, the snapshot
agents read, and how the console shows and filters them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from agents.models import Task, is_overdue
from tests.agents.api_helpers import assert_refused
from tests.conftest import make_task

pytestmark = pytest.mark.django_db


def hours(n: float) -> datetime:
    return timezone.now() + timedelta(hours=n)


@pytest.fixture
def due_tasks(board):
    """A late task, a late one already done, one due tomorrow, one next month and one with no date."""
    return {
        "late": make_task(board, "Late", due_at=hours(-5)),
        "late but done": make_task(board, "Late but done", due_at=hours(-5), status="done"),
        "tomorrow": make_task(board, "Tomorrow", due_at=hours(24), status="in_progress"),
        "next month": make_task(board, "Next month", due_at=hours(24 * 30)),
        "undated": make_task(board, "Undated"),
    }


def titles(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {item["title"] for item in response.json()["items"]}


# --- what overdue means ---------------------------------------------------------------------


def test_a_task_is_overdue_when_its_due_time_passed_and_it_is_not_done(due_tasks):
    assert {name for name, task in due_tasks.items() if task.is_overdue()} == {"late"}


def test_overdue_is_judged_at_the_time_given():
    due = datetime(2027, 1, 1, 12, tzinfo=UTC)
    assert is_overdue(due, "in_progress", now=due + timedelta(seconds=1)) is True
    assert is_overdue(due, "in_progress", now=due) is False
    assert is_overdue(due, "done", now=due + timedelta(days=9)) is False
    assert is_overdue(None, "inbox") is False


# --- the task list filters, for people and agents ------------------------------------------


@pytest.fixture(params=["person", "agent"])
def tasks_of(request, client_for, member, worker, as_agent, board):
    """GET on the board's task list, as a member through the people's API or as a worker."""
    if request.param == "person":
        client, url = client_for(member), f"/api/v1/boards/{board.pk}/tasks"
    else:
        client, url = as_agent(worker), f"/api/v1/agent/boards/{board.pk}/tasks"
    return lambda **params: client.get(url, params)


def test_overdue_true_lists_only_overdue_tasks_and_false_the_others(tasks_of, due_tasks):
    assert titles(tasks_of(overdue="true")) == {"Late"}
    assert titles(tasks_of(overdue="false")) == {"Late but done", "Tomorrow", "Next month", "Undated"}


def test_due_before_and_due_after_bound_the_due_time(tasks_of, due_tasks):
    soon = hours(48).isoformat()
    assert titles(tasks_of(due_before=soon)) == {"Late", "Late but done", "Tomorrow"}
    assert titles(tasks_of(due_after=timezone.now().isoformat())) == {"Tomorrow", "Next month"}
    assert titles(tasks_of(due_after=timezone.now().isoformat(), due_before=soon)) == {"Tomorrow"}
    assert titles(tasks_of(due_before=soon, overdue="true", status="inbox")) == {"Late"}


def test_a_due_time_without_an_offset_is_utc(tasks_of, board):
    make_task(board, "At noon", due_at=datetime(2027, 5, 1, 12, tzinfo=UTC))
    assert titles(tasks_of(due_after="2027-05-01T12:00:00")) == {"At noon"}
    assert titles(tasks_of(due_before="2027-05-01T12:00:00")) == set()


@pytest.mark.parametrize(("params", "field", "sentence"), [
    ({"overdue": "maybe"}, "overdue", "overdue must be true or false."),
    ({"due_before": "tomorrow"}, "due_before", "due_before must be an ISO 8601 date and time"),
    ({"due_after": "2027-02-30T10:00:00Z"}, "due_after", "due_after must be an ISO 8601 date and time"),
    ({"due_before": ""}, "due_before", "due_before must be an ISO 8601 date and time"),
    ({"due_after": "2027-06-01T00:00:00Z", "due_before": "2027-05-01T00:00:00Z"}, "due_after",
     "due_after must be earlier than due_before."),
])
def test_bad_due_filters_are_422_in_words(tasks_of, params, field, sentence):
    body = assert_refused(tasks_of(**params), 422)
    assert sentence in " ".join(body["detail"][field])


def test_the_agent_task_list_with_due_filters_costs_a_fixed_number_of_queries(
        board, worker, as_agent, django_assert_max_num_queries):
    for number in range(25):
        make_task(board, f"Task {number}", due_at=hours(-number - 1))
    client = as_agent(worker)
    client.get("/api/v1/agent/healthz")  # the first call writes last_seen_at
    with django_assert_max_num_queries(6):
        response = client.get(f"/api/v1/agent/boards/{board.pk}/tasks",
                              {"overdue": "true", "due_after": hours(-24 * 30).isoformat()})
    assert response.json()["total"] == 25


# --- what agents read -------------------------------------------------------------------------


def test_agents_read_the_due_time_in_the_snapshot_and_the_task_list(board, worker, as_agent):
    due = datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)
    task = make_task(board, "Dated", due_at=due)
    client = as_agent(worker)
    snapshot = client.get(f"/api/v1/boards/{board.pk}/snapshot").json()
    assert [t["due_at"] for t in snapshot["tasks"] if t["id"] == str(task.pk)] == ["2027-01-02T03:04:05Z"]
    listed = client.get(f"/api/v1/agent/boards/{board.pk}/tasks").json()["items"]
    assert listed[0]["due_at"] == "2027-01-02T03:04:05Z"


def test_a_lead_sets_and_clears_a_due_time_through_the_agent_api(board, lead, as_agent):
    client = as_agent(lead)
    created = client.post(f"/api/v1/agent/boards/{board.pk}/tasks",
                          {"title": "Dated", "due_at": "2027-01-02T03:04:05Z"}, format="json")
    assert created.status_code == 201 and created.json()["due_at"] == "2027-01-02T03:04:05Z"
    cleared = client.patch(f"/api/v1/agent/boards/{board.pk}/tasks/{created.json()['id']}", {"due_at": None},
                           format="json")
    assert cleared.status_code == 200 and cleared.json()["due_at"] is None


# --- the console ------------------------------------------------------------------------------


def test_the_board_shows_overdue_cards_with_their_due_date_in_words(client, member, board, due_tasks,
                                                                    console_static):
    client.force_login(member)
    page = client.get(reverse("console:board", args=[board.pk])).content.decode()
    cards = {card.split("</a></h3>")[0].rsplit(">", 1)[-1]: card for card in page.split('<li class="task-card')[1:]}
    assert '<span class="badge overdue">Overdue</span>' in cards["Late"] and "is-overdue" in cards["Late"]
    assert "Overdue" not in cards["Late but done"] and "Overdue" not in cards["Tomorrow"]
    late = due_tasks["late"].due_at
    assert f"Due {late:%-d %b %Y, %H:%M} UTC" in cards["Late"] and "5 hours ago" in cards["Late"]
    assert "in 1 day" in cards["Tomorrow"] or "in 23 hours" in cards["Tomorrow"]
    assert "Due " not in cards["Undated"]


def test_the_task_page_says_overdue_and_when_it_was_due(client, member, board, due_tasks, console_static):
    client.force_login(member)
    late = client.get(reverse("console:task", args=[board.pk, due_tasks["late"].pk])).content.decode()
    assert '<span class="badge overdue">Overdue</span>' in late and "<dt>Due</dt>" in late
    undated = client.get(reverse("console:task", args=[board.pk, due_tasks["undated"].pk])).content.decode()
    assert "No due date" in undated and "badge overdue" not in undated


def test_the_board_filters_overdue_tasks_and_those_due_this_week(client, member, board, due_tasks, console_static):
    client.force_login(member)
    overdue = client.get(reverse("console:board", args=[board.pk]), {"due": "overdue"}).content.decode()
    assert "<h2>Overdue</h2>" in overdue and ">Late</strong>" in overdue
    assert ">Late but done</strong>" not in overdue and ">Tomorrow</strong>" not in overdue
    week = client.get(reverse("console:board", args=[board.pk]), {"due": "week"}).content.decode()
    assert ">Tomorrow</strong>" in week and ">Next month</strong>" not in week and ">Late</strong>" not in week
    Task.objects.filter(pk=due_tasks["late"].pk).update(status="done")
    empty = client.get(reverse("console:board", args=[board.pk]), {"due": "overdue"}).content.decode()
    assert "No task is overdue." in empty
    # An unknown choice shows the board as usual.
    assert 'class="kanban"' in client.get(reverse("console:board", args=[board.pk]), {"due": "someday"}).content.decode()


def test_a_task_gets_a_due_time_from_the_console_and_loses_it_again(client, member, board, console_static):
    client.force_login(member)
    client.post(reverse("console:task_create", args=[board.pk]),
                {"title": "Dated", "priority": "medium", "due_at": "2027-03-01T09:30"})
    task = Task.objects.get(title="Dated")
    assert task.due_at == datetime(2027, 3, 1, 9, 30, tzinfo=UTC)

    page = client.get(reverse("console:task", args=[board.pk, task.pk])).content.decode()
    assert 'value="2027-03-01T09:30"' in page
    edit = {"title": "Dated", "description": "", "status": "inbox", "priority": "medium", "assigned_agent": "",
            "comment": ""}
    client.post(reverse("console:task_edit", args=[board.pk, task.pk]), {**edit, "due_at": "2027-03-01T09:30"})
    task.refresh_from_db()
    assert task.due_at == datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
    client.post(reverse("console:task_edit", args=[board.pk, task.pk]), {**edit, "due_at": "2027-04-02T10:00"})
    task.refresh_from_db()
    assert task.due_at == datetime(2027, 4, 2, 10, 0, tzinfo=UTC)
    client.post(reverse("console:task_edit", args=[board.pk, task.pk]), {**edit, "due_at": ""})
    task.refresh_from_db()
    assert task.due_at is None


def test_the_leads_instructions_say_how_to_date_a_task_and_find_the_late_ones(lead, worker):
    from agents.gateway import workspace

    lead_text = workspace.render_workspace(lead, "t")[0].content
    assert '"due_at": "2027-03-31T17:00:00Z"' in lead_text and "?overdue=true" in lead_text
    assert "?overdue=true" not in workspace.render_workspace(worker, "t")[0].content
