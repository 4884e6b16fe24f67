"""Custom fields in the console: admins define them and attach them to boards; people set
values on a task's page and when creating a task, and filter the board by a value. Every
change goes through the same rules as the API and is refused with the same sentences."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.html import escape

from agents import rules
from agents.models import CustomFieldDefinition, Task
from tests.conftest import make_board, make_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]


def flash(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)][-1:]


def field(org, key, field_type="text", *, boards=(), **values):
    definition = CustomFieldDefinition.objects.create(organization=org, field_key=key, field_type=field_type,
                                                      label=values.pop("label", key.capitalize()), **values)
    definition.boards.set(boards)
    return definition


def test_an_admin_creates_a_select_field_for_a_board(client, admin_user, org, board):
    client.force_login(admin_user)

    response = client.post(reverse("console:custom_fields"), {
        "organization": str(org.pk), "label": "Stage", "field_key": "stage", "field_type": "select",
        "options": "Alpha\n\n Beta \n", "description": "Where it stands.", "boards": [str(board.pk)]})

    assert response.status_code == 302, response.content.decode()
    definition = CustomFieldDefinition.objects.get()
    assert (definition.field_key, definition.options, list(definition.boards.all())) == ("stage", ["Alpha", "Beta"],
                                                                                         [board])
    html = client.get(reverse("console:custom_fields")).content.decode()
    assert "Stage" in html and "Alpha, Beta" in html and board.name in html


def test_a_refused_field_shows_the_rules_sentence_on_its_input(client, admin_user, org):
    client.force_login(admin_user)

    response = client.post(reverse("console:custom_fields"), {
        "organization": str(org.pk), "label": "Size", "field_key": "Size Points", "field_type": "number"})

    assert response.status_code == 422
    # The rule's sentence, naming the field by its label on the form.
    assert "A key is lowercase letters and digits" in response.content.decode()
    assert not CustomFieldDefinition.objects.exists()


def test_a_member_sees_the_fields_but_cannot_create_change_or_delete_them(client, member, org):
    definition = field(org, "points", "number")
    client.force_login(member)

    listing = client.get(reverse("console:custom_fields"))
    assert listing.status_code == 200 and "Points" in listing.content.decode()
    assert "New custom field" not in listing.content.decode()
    assert client.post(reverse("console:custom_fields"), {"field_key": "x"}).status_code == 403
    assert client.get(reverse("console:custom_field_edit", args=[definition.pk])).status_code == 403
    assert client.post(reverse("console:custom_field_delete", args=[definition.pk])).status_code == 403
    assert CustomFieldDefinition.objects.filter(pk=definition.pk).exists()


def test_an_outsider_cannot_find_our_fields(client, outsider, org):
    definition = field(org, "points", "number")
    client.force_login(outsider)
    assert "Points" not in client.get(reverse("console:custom_fields")).content.decode()
    assert client.get(reverse("console:custom_field_edit", args=[definition.pk])).status_code == 404
    assert client.post(reverse("console:custom_field_delete", args=[definition.pk])).status_code == 404


def test_an_admin_edits_and_deletes_a_field(client, admin_user, org, board):
    definition = field(org, "points", "number", boards=[board])
    task = make_task(board, "Sized", custom_field_values={"points": 3})
    client.force_login(admin_user)
    edit = reverse("console:custom_field_edit", args=[definition.pk])
    assert "Save custom field" in client.get(edit).content.decode()

    response = client.post(edit, {"label": "Story points", "required": "on", "description": "", "boards": []})

    assert response.status_code == 302
    definition.refresh_from_db()
    task.refresh_from_db()
    assert (definition.label, definition.required, definition.boards.count()) == ("Story points", True, 0)
    assert task.custom_field_values == {}
    client.post(reverse("console:custom_field_delete", args=[definition.pk]))
    assert not CustomFieldDefinition.objects.exists()


def test_the_board_form_attaches_fields_of_its_organization(client, admin_user, org, board):
    points = field(org, "points", "number")
    client.force_login(admin_user)
    url = reverse("console:board_edit", args=[board.pk])
    assert "Points" in client.get(url).content.decode()

    response = client.post(url, {"name": board.name, "slug": board.slug, "max_agents": 10,
                                 "require_approval_for_done": "on", "custom_fields": [str(points.pk)]})

    assert response.status_code == 302, response.content.decode()
    assert list(board.custom_fields.all()) == [points]


def test_a_member_sets_values_on_the_task_page_with_the_apis_refusals(client, member, org, board):
    field(org, "points", "number", boards=[board], label="Points")
    field(org, "shipped", "boolean", boards=[board], label="Shipped")
    field(org, "link", "url", boards=[board], label="Link")
    task = make_task(board, "Sized")
    client.force_login(member)
    url = reverse("console:task_custom_fields", args=[board.pk, task.pk])
    page = client.get(reverse("console:task", args=[board.pk, task.pk])).content.decode()
    assert "Custom fields" in page and 'name="cf_points"' in page and 'name="cf_shipped"' in page

    saved = client.post(url, {"cf_points": "2.5", "cf_shipped": "true", "cf_link": ""})
    assert flash(saved) == ["Custom fields saved."]
    task.refresh_from_db()
    assert task.custom_field_values == {"points": 2.5, "shipped": True}

    # Refused: the page again, with what was typed and the rule's sentence.
    refused = client.post(url, {"cf_points": "2.5", "cf_shipped": "true", "cf_link": "ftp://files.test/a"})
    assert refused.status_code == 422
    assert escape("Link (link) must be an http or https URL with a host, like https://example.com/page.") in (
        refused.content.decode())
    assert 'value="ftp://files.test/a"' in refused.content.decode()
    not_a_number = client.post(url, {"cf_points": "lots", "cf_shipped": "", "cf_link": ""})
    assert not_a_number.status_code == 422
    assert "Points must be a number." in not_a_number.content.decode()
    assert 'value="lots"' in not_a_number.content.decode()
    cleared = client.post(url, {"cf_points": "", "cf_shipped": "false", "cf_link": ""})
    assert flash(cleared) == ["Custom fields saved."]
    task.refresh_from_db()
    assert task.custom_field_values == {"shipped": False}
    html = client.get(reverse("console:task", args=[board.pk, task.pk])).content.decode()
    assert "<dd>No</dd>" in html


def test_a_task_is_created_with_its_required_field_from_the_board_page(client, member, org, board):
    field(org, "points", "number", boards=[board], label="Points", required=True)
    client.force_login(member)
    create = reverse("console:task_create", args=[board.pk])
    assert 'name="cf_points"' in client.get(reverse("console:board", args=[board.pk])).content.decode()

    missing = client.post(create, {"title": "Unsized", "priority": "medium"})
    assert missing.status_code == 422
    assert "Points (points) is required on this board" in missing.content.decode()
    assert 'value="Unsized"' in missing.content.decode()
    client.post(create, {"title": "Sized", "priority": "medium", "cf_points": "3"})

    assert Task.objects.get().custom_field_values == {"points": 3}


def test_the_board_is_filtered_by_a_custom_field_value(client, member, org, board):
    field(org, "stage", "select", boards=[board], options=["Alpha", "Beta"], label="Stage")
    field(org, "points", "number", boards=[board], label="Points")
    field(org, "shipped", "boolean", boards=[board], label="Shipped")
    field(org, "notes", "text", boards=[board], label="Notes")
    make_task(board, "In alpha", custom_field_values={"stage": "Alpha", "points": 3, "notes": "Needs Design"})
    make_task(board, "In beta", custom_field_values={"stage": "Beta", "points": 3.5, "shipped": True})
    make_task(board, "Plain")
    client.force_login(member)
    url = reverse("console:board", args=[board.pk])

    def titles(params):
        html = client.get(url, params).content.decode()
        return [title for title in ("In alpha", "In beta", "Plain") if f"<strong>{title}</strong>" in html]

    assert titles({"field": "stage", "value": "Beta"}) == ["In beta"]
    assert titles({"field": "points", "value": "3"}) == ["In alpha"]
    assert titles({"field": "points", "value": "3.5"}) == ["In beta"]
    assert titles({"field": "shipped", "value": "yes"}) == ["In beta"]
    assert titles({"field": "notes", "value": "design"}) == ["In alpha"]
    assert titles({"field": "stage", "value": "Gamma"}) == []
    bad = client.get(url, {"field": "points", "value": "many"}).content.decode()
    assert escape("Points is a number: type one, like 3 or 2.5.") in bad


def test_the_filter_ignores_a_field_of_another_board(client, member, org, board):
    other = make_board(org, "Other")
    field(org, "stage", "text", boards=[other])
    make_task(board, "Here")
    client.force_login(member)

    html = client.get(reverse("console:board", args=[board.pk]), {"field": "stage", "value": "x"}).content.decode()

    assert "Here" in html and "Filter by a custom field" not in html


def test_console_changes_write_the_same_events_as_the_api(client, admin_user, org, board):
    definition = field(org, "points", "number", boards=[board])
    task = make_task(board, "Sized")
    client.force_login(admin_user)
    client.post(reverse("console:task_custom_fields", args=[board.pk, task.pk]), {"cf_points": "4"})

    api_task = make_task(board, "Also sized")
    rules.update_task(admin_user, api_task, {"custom_field_values": {"points": 4}})

    from agents.models import ActivityEvent

    events = ActivityEvent.objects.filter(event_type="task.updated").order_by("created_at")
    assert [event.data["custom_field_keys"] for event in events] == [["points"], ["points"]]
    assert definition.field_key == "points"


@pytest.mark.parametrize(("key", "field_type", "stored", "typed"), [
    ("contains", "text", "needle here", "NEEDLE"), ("exact", "number", 7, "7"), ("in", "select", "A", "A"),
    ("isnull", "boolean", False, "no")])
def test_a_key_named_like_a_lookup_still_filters_by_its_value(client, member, org, board, key, field_type, stored,
                                                              typed):
    field(org, key, field_type, boards=[board], options=["A", "B"] if field_type == "select" else [])
    make_task(board, "Match", custom_field_values={key: stored})
    make_task(board, "Other")
    client.force_login(member)

    html = client.get(reverse("console:board", args=[board.pk]), {"field": key, "value": typed}).content.decode()

    assert "<strong>Match</strong>" in html and "<strong>Other</strong>" not in html
