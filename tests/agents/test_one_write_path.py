"""The console and the user API change boards, gateways, tags and the agent roster through
the same rules: the same input is refused with the same sentence, and the same change
writes the same activity event."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils.html import escape

from agents.models import ActivityEvent, Board, Gateway, Tag
from tests.conftest import make_agent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]


@pytest.fixture
def api(client_for, owner):
    return client_for(owner)


@pytest.fixture
def console(client, owner):
    client.force_login(owner)
    return client


def refused_sentence(response: Any, status: int) -> str:
    assert response.status_code == status, response.content
    return response.json()["detail"]["message"]


def shows(page: Any, sentence: str) -> bool:
    return escape(sentence) in page.content.decode()


def event_of(event_type: str) -> dict[str, Any]:
    """What two surfaces making the same change must agree on (ids differ by object)."""
    event = ActivityEvent.objects.filter(event_type=event_type).latest("created_at")
    data = {key: value for key, value in event.data.items() if not key.endswith("_id")}
    return {"type": event.event_type, "actor": event.actor_name, "message": event.message, "data": data}


def board_form(org: Any, **fields: Any) -> dict[str, Any]:
    # As the page offers it: "approval before done" is checked for a new board.
    return {"organization": str(org.pk), "name": "Docs", "slug": "", "max_agents": 5,
            "require_approval_for_done": "on", **fields}


# --- boards --------------------------------------------------------------------------------


@pytest.mark.parametrize(("api_fields", "form_fields"), [
    ({"max_agents": 0}, {"max_agents": 0}),
    ({"max_agents": 1001}, {"max_agents": 1001}),
    ({"name": "   "}, {"name": "   "}),
    ({"slug": "no spaces"}, {"slug": "no spaces"}),
])
def test_a_bad_new_board_is_refused_with_the_same_sentence(api, console, org, api_fields, form_fields):
    sentence = refused_sentence(api.post("/api/v1/boards", {"name": "Docs", **api_fields}, format="json"), 422)
    page = console.post(reverse("console:board_create"), board_form(org, **form_fields))
    # The same sentence, with the API's field name said as the form labels the field.
    sentence = sentence.replace("max_agents", "Maximum number of agents")
    assert page.status_code == 422 and shows(page, sentence), sentence
    assert not Board.objects.filter(name="Docs").exists()


def test_a_taken_short_name_is_refused_with_the_same_sentence(api, console, org, board):
    sentence = refused_sentence(api.post("/api/v1/boards", {"name": "Docs", "slug": board.slug}, format="json"), 409)
    assert shows(console.post(reverse("console:board_create"), board_form(org, slug=board.slug)), sentence)


def test_a_gateway_of_another_organization_is_refused_with_the_same_sentence(api, console, board, other_gateway):
    sentence = refused_sentence(api.patch(f"/api/v1/boards/{board.pk}", {"gateway_id": str(other_gateway.pk)},
                                          format="json"), 422)
    # The console offers only the gateways the person sees; a forged choice meets the rule the same way.
    page = console.post(reverse("console:board_edit", args=[board.pk]),
                        {"name": board.name, "max_agents": 10, "gateway": str(other_gateway.pk)})
    assert page.status_code == 422
    board.refresh_from_db()
    assert board.gateway_id != other_gateway.pk
    assert sentence == "No such gateway in this organization."


def test_changing_a_board_writes_the_same_event_from_both(api, console, org):
    made_by_api = api.post("/api/v1/boards", {"name": "Docs", "max_agents": 5}, format="json").json()
    api_created = event_of("board.created")
    console.post(reverse("console:board_create"), board_form(org, name="Docs", slug="docs-2"))
    console_board = Board.objects.get(slug="docs-2")
    assert event_of("board.created") == api_created

    api.patch(f"/api/v1/boards/{made_by_api['id']}", {"max_agents": 3, "require_review_before_done": True},
              format="json")
    api_updated = event_of("board.updated")
    console.post(reverse("console:board_edit", args=[console_board.pk]), {
        "name": "Docs", "slug": "docs-2", "max_agents": 3, "require_review_before_done": "on",
        "require_approval_for_done": "on"})
    assert event_of("board.updated") == api_updated
    assert api_updated["data"] == {"fields": ["max_agents", "require_review_before_done"]}


def test_the_console_never_saves_a_board_without_room_for_an_agent(console, board):
    console.post(reverse("console:board_edit", args=[board.pk]), {"name": board.name, "max_agents": 0})
    board.refresh_from_db()
    assert board.max_agents == 10


def test_deleting_a_board_writes_the_same_event_from_both(api, console, org):
    first = api.post("/api/v1/boards", {"name": "Docs"}, format="json").json()
    api.delete(f"/api/v1/boards/{first['id']}")
    by_api = event_of("board.deleted")
    second = api.post("/api/v1/boards", {"name": "Docs"}, format="json").json()
    console.post(reverse("console:board_delete", args=[second["id"]]), {"confirm_name": "Docs"})
    assert event_of("board.deleted") == by_api
    assert not Board.objects.exists()


# --- gateways ------------------------------------------------------------------------------


def gateway_form(org: Any, **fields: Any) -> dict[str, Any]:
    return {"organization": str(org.pk), "name": "Edge", "url": "wss://edge.test:18789", **fields}


@pytest.mark.parametrize(("field", "value"), [("url", "http://edge.test"), ("url", "wss://"), ("name", " ")])
def test_a_bad_gateway_is_refused_with_the_same_sentence(api, console, org, field, value):
    body = {"name": "Edge", "url": "wss://edge.test:18789", field: value}
    sentence = refused_sentence(api.post("/api/v1/gateways", body, format="json"), 422)
    page = console.post(reverse("console:gateways"), gateway_form(org, **{field: value}))
    assert page.status_code == 422 and shows(page, sentence), sentence
    assert not Gateway.objects.exists()


def test_registering_a_gateway_writes_the_same_event_from_both(api, console, org):
    api.post("/api/v1/gateways", {"name": "Edge", "url": "wss://edge.test:18789", "token": "t0ken"}, format="json")
    by_api = event_of("gateway.created")
    console.post(reverse("console:gateways"), gateway_form(org, token="t0ken"))
    assert event_of("gateway.created") == by_api
    assert Gateway.objects.filter(name="Edge", token="t0ken").count() == 2


# --- tags ----------------------------------------------------------------------------------


def tag_form(org: Any, **fields: Any) -> dict[str, Any]:
    return {"organization": str(org.pk), "name": "Bug", "slug": "", "color": "#ff0000", **fields}


@pytest.mark.parametrize(("api_fields", "form_fields"), [
    ({"color": "red"}, {"color": "red"}),
    ({"name": " "}, {"name": " "}),
    ({"slug": "a b"}, {"slug": "a b"}),
])
def test_a_bad_tag_is_refused_with_the_same_sentence(api, console, org, api_fields, form_fields):
    sentence = refused_sentence(api.post("/api/v1/tags", {"name": "Bug", **api_fields}, format="json"), 422)
    page = console.post(reverse("console:tags"), tag_form(org, **form_fields))
    assert page.status_code == 422 and shows(page, sentence), sentence
    assert not Tag.objects.exists()


def test_a_taken_tag_slug_is_refused_with_the_same_sentence(api, console, org):
    api.post("/api/v1/tags", {"name": "Bug"}, format="json")
    sentence = refused_sentence(api.post("/api/v1/tags", {"name": "Bug"}, format="json"), 409)
    assert shows(console.post(reverse("console:tags"), tag_form(org)), sentence)


def test_tags_are_created_renamed_and_deleted_with_the_same_events_from_both(api, console, org):
    by_api = api.post("/api/v1/tags", {"name": "Bug", "color": "FF0000"}, format="json").json()
    api_created = event_of("tag.created")
    console.post(reverse("console:tags"), tag_form(org, name="Bug", slug="bug-2"))
    assert event_of("tag.created") == api_created
    by_console = Tag.objects.get(slug="bug-2")
    assert by_console.color == "ff0000" == Tag.objects.get(pk=by_api["id"]).color

    api.patch(f"/api/v1/tags/{by_api['id']}", {"name": "Defect"}, format="json")
    api_updated = event_of("tag.updated")
    console.post(reverse("console:tag_edit", args=[by_console.pk]),
                 {"name": "Defect", "slug": "bug-2", "color": "#ff0000"})
    assert event_of("tag.updated") == api_updated and api_updated["data"] == {"fields": ["name"]}

    api.delete(f"/api/v1/tags/{by_api['id']}")
    api_deleted = event_of("tag.deleted")
    console.post(reverse("console:tag_delete", args=[by_console.pk]))
    assert event_of("tag.deleted") == api_deleted and not Tag.objects.exists()


def test_a_member_can_neither_create_nor_change_tags_in_the_console(client, member, org):
    client.force_login(member)
    assert client.post(reverse("console:tags"), tag_form(org)).status_code == 403
    tag = Tag.objects.create(organization=org, name="Keep", slug="keep")
    assert client.post(reverse("console:tag_edit", args=[tag.pk]), {"name": "Changed"}).status_code == 403
    assert client.post(reverse("console:tag_delete", args=[tag.pk])).status_code == 403
    tag.refresh_from_db()
    assert tag.name == "Keep"


# --- the agent roster ----------------------------------------------------------------------


def test_a_taken_agent_name_is_refused_with_the_same_sentence(api, console, board, worker):
    sentence = refused_sentence(api.post("/api/v1/agents", {"name": "worker", "board_id": str(board.pk)},
                                         format="json"), 409)
    page = console.post(reverse("console:agents"), {"name": "worker", "board": str(board.pk)})
    assert page.status_code == 422 and shows(page, sentence), sentence


def test_a_full_board_is_refused_with_the_same_sentence(api, console, board, worker):
    board.max_agents = 1
    board.save()
    sentence = refused_sentence(api.post("/api/v1/agents", {"name": "Extra", "board_id": str(board.pk)},
                                         format="json"), 409)
    assert shows(console.post(reverse("console:agents"), {"name": "Extra", "board": str(board.pk)}), sentence)


def test_creating_an_agent_and_rotating_its_token_write_the_same_events_from_both(api, console, board):
    api.post("/api/v1/agents", {"name": "Scout", "board_id": str(board.pk)}, format="json")
    by_api = event_of("agent.created")
    console.post(reverse("console:agents"), {"name": "Ranger", "board": str(board.pk)})
    by_console = event_of("agent.created")
    assert {**by_console, "message": "", "data": {}} == {**by_api, "message": "", "data": {}}
    assert by_console["data"] == {**by_api["data"], "name": "Ranger"}

    target = make_agent("Rotated", board=board)
    api.post(f"/api/v1/agents/{target.pk}/token")
    rotated_by_api = event_of("agent.token_rotated")
    console.post(reverse("console:agent_rotate", args=[target.pk]))
    assert event_of("agent.token_rotated") == rotated_by_api
