"""The activity feed, tags and the current user through the user API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents import activity
from agents.models import ActivityEvent, Tag
from tests.agents.api_helpers import assert_refused, ids
from tests.conftest import make_board

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client_for, admin_user):
    return client_for(admin_user)


def at(event, minutes_ago):
    ActivityEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    return event


def test_the_feed_is_newest_first_and_paginated(admin, owner, board):
    events = [at(activity.record("board.updated", actor=owner, board=board), minutes) for minutes in (30, 20, 10)]
    body = admin.get("/api/v1/activity?limit=2").json()
    assert body["total"] == 3 and ids(body["items"]) == [str(events[2].pk), str(events[1].pk)]
    assert ids(admin.get("/api/v1/activity?limit=2&offset=2").json()["items"]) == [str(events[0].pk)]


def test_the_feed_filters_by_board_and_event_type(admin, owner, board, org):
    second = make_board(org, "Second")
    here = activity.record("task.created", actor=owner, board=board)
    there = activity.record("task.created", actor=owner, board=second)
    renamed = activity.record("board.updated", actor=owner, board=board)

    assert set(ids(admin.get(f"/api/v1/activity?board_id={board.pk}").json()["items"])) == {
        str(here.pk), str(renamed.pk)}
    assert set(ids(admin.get("/api/v1/activity?event_type=task.created").json()["items"])) == {
        str(here.pk), str(there.pk)}
    both = admin.get(f"/api/v1/activity?board_id={board.pk}&event_type=task.created,board.updated").json()
    assert both["total"] == 2
    assert_refused(admin.get("/api/v1/activity?board_id=12"), 422)


def test_the_feed_shows_only_the_callers_organizations(client_for, outsider, owner, board, other_board):
    activity.record("board.updated", actor=owner, board=board)
    theirs = activity.record("board.updated", actor=outsider, board=other_board)
    body = client_for(outsider).get(f"/api/v1/activity?board_id={board.pk}").json()
    assert body["total"] == 0
    assert ids(client_for(outsider).get("/api/v1/activity").json()["items"]) == [str(theirs.pk)]


def test_an_event_shows_its_actor_and_data(admin, owner, board):
    activity.record("board.updated", actor=owner, board=board, message="Renamed", data={"fields": ["name"]})
    item = admin.get("/api/v1/activity").json()["items"][0]
    assert item["actor_type"] == "user" and item["actor_user_id"] == str(owner.pk)
    assert item["actor_name"] == "owner" and item["board_id"] == str(board.pk)
    assert item["message"] == "Renamed" and item["data"] == {"fields": ["name"]}


# --- tags -----------------------------------------------------------------------------------


def test_an_admin_creates_changes_and_deletes_a_tag(admin, org):
    created = admin.post("/api/v1/tags", {"name": "Needs Review", "color": "A1B2C3"}, format="json")
    assert created.status_code == 201
    tag = created.json()
    assert set(tag) == {"id", "name", "slug", "color"}
    assert tag["slug"] == "needs-review" and tag["color"] == "a1b2c3"

    changed = admin.patch(f"/api/v1/tags/{tag['id']}", {"color": "000000"}, format="json")
    assert changed.status_code == 200 and changed.json()["color"] == "000000"
    assert changed.json()["name"] == "Needs Review"

    assert admin.delete(f"/api/v1/tags/{tag['id']}").status_code == 204
    assert not Tag.objects.filter(pk=tag["id"]).exists()


@pytest.mark.parametrize("color", ["red", "12345", "1234567", "gggggg"])
def test_a_tag_colour_is_six_hex_digits(admin, color):
    body = assert_refused(admin.post("/api/v1/tags", {"name": "X", "color": color}, format="json"), 422)
    assert "color" in body["detail"]


def test_a_duplicate_tag_slug_is_409(admin, org):
    Tag.objects.create(organization=org, name="Bug", slug="bug")
    assert_refused(admin.post("/api/v1/tags", {"name": "Bug"}, format="json"), 409, "tag_slug_taken")


# --- the current user -----------------------------------------------------------------------


def test_me_shows_the_person_and_their_roles(client_for, member, org):
    body = client_for(member).get("/api/v1/users/me").json()
    assert body["id"] == str(member.pk) and body["username"] == "member"
    assert body["organizations"] == [{"id": str(org.pk), "name": org.name, "slug": org.slug, "role": "member"}]


def test_me_with_the_local_operator_token(api_client, settings):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.LOCAL_AUTH_TOKEN}")
    body = api_client.get("/api/v1/users/me").json()
    assert body["username"] == "operator"
    assert [o["role"] for o in body["organizations"]] == ["owner"]


def test_a_wrong_bearer_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer " + "x" * 60)
    assert_refused(api_client.get("/api/v1/users/me"), 401)
