"""Tags keep their tasks through a rename and a new colour, leave them when deleted, and
show in their colour in the console. Who may change them: tests/agents/test_api_authorization.py
(API) and tests/agents/test_one_write_path.py (console)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agents import rules
from agents.models import ActivityEvent, Tag, Task
from tests.agents.api_helpers import assert_refused
from tests.conftest import make_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client_for, admin_user):
    return client_for(admin_user)


@pytest.fixture
def tagged(admin_user, org, board):
    tag = rules.create_tag(admin_user, org, {"name": "Bug", "color": "ff0000"})
    tasks = [make_task(board, f"Task {n}") for n in range(2)]
    for task in tasks:
        rules.update_task(admin_user, task, {"tag_ids": [str(tag.pk)]})
    return tag, tasks


def test_renaming_and_recolouring_a_tag_keeps_its_tasks(admin, tagged, board):
    tag, tasks = tagged
    response = admin.patch(f"/api/v1/tags/{tag.pk}", {"name": "Defect", "slug": "defect", "color": "00AA00"},
                           format="json")
    assert response.status_code == 200
    assert response.json() == {"id": str(tag.pk), "name": "Defect", "slug": "defect", "color": "00aa00"}
    listed = admin.get(f"/api/v1/boards/{board.pk}/tasks").json()["items"]
    assert [item["tags"] for item in listed] == [[{"id": str(tag.pk), "name": "Defect", "slug": "defect",
                                                    "color": "00aa00"}]] * 2


def test_a_new_colour_is_checked_on_a_change_too(admin, tagged):
    tag, _ = tagged
    body = assert_refused(admin.patch(f"/api/v1/tags/{tag.pk}", {"color": "#00aa00"}, format="json"), 422,
                          "invalid_color")
    assert body["detail"]["message"] == "Use six hexadecimal digits, like 9ca3af."
    tag.refresh_from_db()
    assert tag.color == "ff0000"


def test_deleting_a_tag_takes_it_off_its_tasks_which_stay(admin, tagged, board):
    tag, tasks = tagged
    assert admin.delete(f"/api/v1/tags/{tag.pk}").status_code == 204
    assert Task.objects.filter(pk__in=[t.pk for t in tasks]).count() == 2
    assert not Task.tags.through.objects.filter(tag_id=tag.pk).exists()
    listed = admin.get(f"/api/v1/boards/{board.pk}/tasks").json()["items"]
    assert [(item["tag_ids"], item["tags"]) for item in listed] == [([], [])] * 2
    event = ActivityEvent.objects.get(event_type="tag.deleted")
    assert event.data == {"tag_id": str(tag.pk)}


def test_agents_see_the_renamed_tag_and_not_a_deleted_one(admin_user, tagged, board, worker, as_agent):
    tag, tasks = tagged
    rules.update_tag(admin_user, tag, {"name": "Defect"})
    client = as_agent(worker)
    assert [t["name"] for t in client.get(f"/api/v1/agent/boards/{board.pk}/tags").json()] == ["Defect"]
    rules.delete_tag(admin_user, tag)
    assert client.get(f"/api/v1/agent/boards/{board.pk}/tags").json() == []
    assert client.get(f"/api/v1/agent/boards/{board.pk}/tasks").json()["items"][0]["tags"] == []


def test_the_console_renames_recolours_and_deletes_a_tag_keeping_or_freeing_its_tasks(
        client, admin_user, tagged, console_static):
    tag, tasks = tagged
    client.force_login(admin_user)
    response = client.post(reverse("console:tag_edit", args=[tag.pk]),
                           {"name": "Defect", "slug": "bug", "color": "#123abc"})
    assert response.status_code == 302
    tag.refresh_from_db()
    assert (tag.name, tag.color) == ("Defect", "123abc")
    assert set(tag.tasks.values_list("pk", flat=True)) == {t.pk for t in tasks}
    assert client.post(reverse("console:tag_delete", args=[tag.pk])).status_code == 302
    assert not Tag.objects.exists() and Task.objects.count() == 2


def test_tags_show_in_their_colour_on_the_cards_and_the_task_page(client, member, tagged, board, console_static):
    tag, tasks = tagged
    client.force_login(member)
    swatch = 'fill="#ff0000"/></svg> Bug</span>'
    board_page = client.get(reverse("console:board", args=[board.pk])).content.decode()
    assert board_page.count(swatch) == 2
    task_page = client.get(reverse("console:task", args=[board.pk, tasks[0].pk])).content.decode()
    assert swatch in task_page
