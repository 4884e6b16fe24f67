"""Console pages show times in the signed-in person's time zone (their profile's); the API
keeps answering UTC, and an unknown zone is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from agents.models import Task, User
from tests.agents.api_helpers import assert_refused
from tests.conftest import make_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]

CREATED = datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)


def _in_zone(user, zone: str) -> None:
    User.objects.filter(pk=user.pk).update(timezone=zone)


def _task_page(client, board, task) -> str:
    response = client.get(reverse("console:task", args=[board.pk, task.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def dated_task(board):
    task = make_task(board, "Dated", due_at=datetime(2027, 3, 1, 0, 30, tzinfo=UTC))
    Task.objects.filter(pk=task.pk).update(created_at=CREATED)
    task.refresh_from_db()
    return task


def test_a_person_in_tokyo_sees_a_tasks_times_in_tokyo_time(client, member, board, dated_task):
    _in_zone(member, "Asia/Tokyo")
    client.force_login(member)
    html = _task_page(client, board, dated_task)
    assert 'title="2027-01-02 12:04:05 JST"' in html  # 03:04:05 UTC is 12:04:05 in Tokyo
    assert 'datetime="2027-01-02T03:04:05+00:00"' in html  # the machine-readable value stays UTC
    assert "Due 1 Mar 2027, 09:30 JST" in html


def test_a_person_without_a_zone_sees_utc(client, member, board, dated_task):
    client.force_login(member)
    html = _task_page(client, board, dated_task)
    assert 'title="2027-01-02 03:04:05 UTC"' in html and "Due 1 Mar 2027, 00:30 UTC" in html


def test_the_due_time_is_shown_and_read_in_the_persons_zone(client, member, board, dated_task):
    _in_zone(member, "Asia/Tokyo")
    client.force_login(member)
    html = _task_page(client, board, dated_task)
    assert 'value="2027-03-01T09:30"' in html and "Due (Asia/Tokyo)" in html

    edit = {"title": "Dated", "description": "", "status": "inbox", "priority": "medium", "assigned_agent": "",
            "comment": "", "due_at": "2027-04-02T10:00"}
    client.post(reverse("console:task_edit", args=[board.pk, dated_task.pk]), edit)
    dated_task.refresh_from_db()
    assert dated_task.due_at == datetime(2027, 4, 2, 1, 0, tzinfo=UTC)


def test_the_profile_page_says_which_zone_times_are_shown_in(client, member):
    client.force_login(member)
    assert "Times are shown in <strong>UTC</strong>" in client.get(reverse("console:profile")).content.decode()

    client.post(reverse("console:profile"), {"first_name": "", "last_name": "", "timezone": "Asia/Tokyo"})
    html = client.get(reverse("console:profile")).content.decode()
    assert "Times are shown in <strong>Asia/Tokyo</strong> (JST, UTC+0900;" in html


def test_the_profile_refuses_an_unknown_zone_with_a_sentence_and_keeps_the_old_one(client, member):
    _in_zone(member, "Europe/Paris")
    client.force_login(member)
    refused = client.post(reverse("console:profile"), {"first_name": "", "last_name": "", "timezone": "Mars/Olympus"})
    assert refused.status_code == 422
    assert "Use a time zone name like Europe/Paris or UTC." in refused.content.decode()
    assert User.objects.get(pk=member.pk).timezone == "Europe/Paris"

    body = assert_refused(client.patch("/api/v1/users/me/profile", {"timezone": "Mars/Olympus"},
                                       content_type="application/json"), 422, "invalid_timezone")
    assert body["detail"]["message"] == "Use a time zone name like Europe/Paris or UTC."
    assert User.objects.get(pk=member.pk).timezone == "Europe/Paris"


def test_the_api_keeps_answering_utc_for_a_person_in_tokyo(client, member, board, dated_task):
    _in_zone(member, "Asia/Tokyo")
    client.force_login(member)
    response = client.get(f"/api/v1/boards/{board.pk}/tasks/{dated_task.pk}")
    assert response.status_code == 200
    assert response.json()["created_at"] == "2027-01-02T03:04:05Z"
    assert response.json()["due_at"] == "2027-03-01T00:30:00Z"


def test_a_zone_the_system_no_longer_knows_falls_back_to_utc(client, member, board, dated_task):
    _in_zone(member, "Atlantis/Capital")  # written before the rule, or dropped from the zone database
    client.force_login(member)
    assert 'title="2027-01-02 03:04:05 UTC"' in _task_page(client, board, dated_task)


def test_the_zone_is_let_go_after_the_page(client, member, board, dated_task):
    _in_zone(member, "Asia/Tokyo")
    client.force_login(member)
    _task_page(client, board, dated_task)
    assert timezone.get_current_timezone_name() == "UTC"
