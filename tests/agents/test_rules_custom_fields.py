"""Custom fields as rules: definitions per organization, attached to boards, and the values
tasks carry, checked against each field's type with a sentence that names the field."""

from __future__ import annotations

import math

import pytest

from agents import rules
from agents.models import ActivityEvent, CustomFieldDefinition, Task
from tests.agents.rules_helpers import refused
from tests.conftest import make_board, make_task

pytestmark = pytest.mark.django_db


def field(org, key, field_type="text", *, boards=(), **values):
    definition = CustomFieldDefinition.objects.create(organization=org, field_key=key, label=values.pop(
        "label", key.replace("_", " ").capitalize()), field_type=field_type, **values)
    definition.boards.set(boards)
    return definition


# --- definitions ----------------------------------------------------------------------------


def test_an_admin_creates_a_field_attached_to_boards_and_it_is_recorded(admin_user, org, board):
    definition = rules.create_custom_field(admin_user, org, {
        "field_key": "story_points", "label": "Story points", "field_type": "number", "required": True,
        "description": "Effort, in points.", "board_ids": [str(board.pk)]})

    assert (definition.field_key, definition.field_type, definition.required) == ("story_points", "number", True)
    assert list(definition.boards.all()) == [board]
    event = ActivityEvent.objects.get(event_type="custom_field.created")
    assert event.actor_user_id == admin_user.pk and event.organization_id == org.pk
    assert event.data["field_key"] == "story_points" and event.data["board_ids"] == [str(board.pk)]


def test_a_field_without_a_label_is_labelled_from_its_key(admin_user, org):
    assert rules.create_custom_field(admin_user, org, {"field_key": "release_train"}).label == "Release train"


def test_a_member_cannot_create_change_or_delete_a_field(member, org):
    definition = field(org, "points", "number")
    with refused(403, "admin_required"):
        rules.create_custom_field(member, org, {"field_key": "size"})
    with refused(403, "admin_required"):
        rules.update_custom_field(member, definition, {"label": "Size"})
    with refused(403, "admin_required"):
        rules.delete_custom_field(member, definition)


@pytest.mark.parametrize("key", ["", "Story", "story points", "1st", "story__points", "_x", "x_", "a" * 65, 5])
def test_a_field_key_is_lowercase_words_joined_by_single_underscores(admin_user, org, key):
    with pytest.raises(rules.RuleViolation) as caught:
        rules.create_custom_field(admin_user, org, {"field_key": key})
    assert caught.value.status_code == 422 and caught.value.field == "field_key"
    assert "field_key" in caught.value.message


def test_a_key_is_unique_within_an_organization_but_not_across(admin_user, outsider, org, other_org):
    rules.create_custom_field(admin_user, org, {"field_key": "points"})
    with refused(409, "custom_field_key_taken"):
        rules.create_custom_field(admin_user, org, {"field_key": "points"})
    assert rules.create_custom_field(outsider, other_org, {"field_key": "points"}).organization == other_org


def test_an_unknown_type_is_refused_with_the_list_of_types(admin_user, org):
    with refused(422, "invalid_field_type") as caught:
        rules.create_custom_field(admin_user, org, {"field_key": "size", "field_type": "integer"})
    assert "text, number, date, select, boolean, url" in caught.value.message


def test_a_select_field_needs_distinct_options_and_other_types_have_none(admin_user, org):
    with refused(422, "options_required"):
        rules.create_custom_field(admin_user, org, {"field_key": "stage", "field_type": "select"})
    with refused(422, "duplicate_option"):
        rules.create_custom_field(admin_user, org, {"field_key": "stage", "field_type": "select",
                                                    "options": ["Alpha", "Alpha"]})
    with refused(422, "invalid_option"):
        rules.create_custom_field(admin_user, org, {"field_key": "stage", "field_type": "select", "options": [" "]})
    with refused(422, "options_only_for_select"):
        rules.create_custom_field(admin_user, org, {"field_key": "size", "field_type": "number", "options": ["1"]})
    stage = rules.create_custom_field(admin_user, org, {"field_key": "stage", "field_type": "select",
                                                        "options": [" Alpha", "Beta "]})
    assert stage.options == ["Alpha", "Beta"]


def test_a_field_attaches_only_to_boards_of_its_organization(admin_user, org, other_board):
    with refused(422, "board_not_in_organization") as caught:
        rules.create_custom_field(admin_user, org, {"field_key": "size", "board_ids": [str(other_board.pk)]})
    assert caught.value.detail["board_ids"] == [str(other_board.pk)]


def test_the_key_and_the_type_cannot_change(admin_user, org):
    definition = field(org, "points", "number")
    with refused(422, "custom_field_fixed"):
        rules.update_custom_field(admin_user, definition, {"field_type": "text"})
    with refused(422, "custom_field_fixed"):
        rules.update_custom_field(admin_user, definition, {"field_key": "size"})


def test_detaching_a_field_from_a_board_clears_its_values_there_only(admin_user, org, board):
    second = make_board(org, "Second")
    definition = field(org, "points", "number", boards=[board, second])
    here = make_task(board, "Here", custom_field_values={"points": 3, "other": "kept"})
    there = make_task(second, "There", custom_field_values={"points": 5})

    rules.update_custom_field(admin_user, definition, {"board_ids": [str(second.pk)]})

    here.refresh_from_db()
    there.refresh_from_db()
    assert here.custom_field_values == {"other": "kept"} and there.custom_field_values == {"points": 5}
    event = ActivityEvent.objects.get(event_type="custom_field.updated")
    assert event.data["fields"] == ["board_ids"] and event.data["cleared_task_count"] == 1


def test_an_option_in_use_cannot_be_removed(admin_user, org, board):
    definition = field(org, "stage", "select", boards=[board], options=["Alpha", "Beta", "Gamma"])
    make_task(board, "In beta", custom_field_values={"stage": "Beta"})

    with refused(409, "custom_field_option_in_use") as caught:
        rules.update_custom_field(admin_user, definition, {"options": ["Alpha", "Gamma"]})
    assert caught.value.detail["options"] == ["Beta"]
    assert rules.update_custom_field(admin_user, definition, {"options": ["Beta", "Gamma"]}).options == ["Beta", "Gamma"]


def test_an_update_that_changes_nothing_writes_no_event(admin_user, org):
    definition = field(org, "points", "number", label="Points")
    rules.update_custom_field(admin_user, definition, {"label": "Points"})
    assert not ActivityEvent.objects.filter(event_type="custom_field.updated").exists()


def test_deleting_a_field_removes_its_values_from_every_task(admin_user, org, board):
    definition = field(org, "points", "number", boards=[board])
    task = make_task(board, "Sized", custom_field_values={"points": 8})
    definition_id = definition.pk

    rules.delete_custom_field(admin_user, definition)

    task.refresh_from_db()
    assert task.custom_field_values == {}
    event = ActivityEvent.objects.get(event_type="custom_field.deleted")
    assert event.data == {"custom_field_id": str(definition_id), "field_key": "points", "cleared_task_count": 1}


def test_a_board_is_given_exactly_the_fields_chosen_for_it(admin_user, org, other_org, board):
    points = field(org, "points", "number", boards=[board])
    stage = field(org, "stage", "text")
    make_task(board, "Sized", custom_field_values={"points": 2})

    rules.set_board_custom_fields(admin_user, board, [stage])

    assert list(board.custom_fields.all()) == [stage]
    assert Task.objects.get(title="Sized").custom_field_values == {}
    event = ActivityEvent.objects.get(event_type="board.custom_fields_changed")
    assert event.data == {"added": ["stage"], "removed": ["points"], "cleared_task_count": 1}
    with refused(422, "custom_field_not_in_organization"):
        rules.set_board_custom_fields(admin_user, board, [field(other_org, "theirs")])
    assert points.boards.count() == 0


# --- values, type by type -------------------------------------------------------------------

GOOD = {
    "text": ["", "Anything at all", "x" * 2000],
    "number": [0, 3, -2, 2.5, 10**15, -(10**15)],
    "date": ["2026-12-01", "2024-02-29"],
    "select": ["Alpha", "Beta"],
    "boolean": [True, False],
    "url": ["https://example.com", "http://intranet.test:8080/path?q=1#top"],
}
BAD = {
    "text": [3, True, ["a"], {"a": 1}, "x" * 2001],
    "number": ["3", "three", True, False, math.nan, math.inf, -math.inf, 10**15 + 1, [1], {"n": 1}],
    "date": ["2026-13-01", "2023-02-29", "01/12/2026", "2026-12-01T10:00:00Z", "20261201", 20261201, True],
    "select": ["alpha", "Delta", "", 1, ["Alpha"]],
    "boolean": ["true", "false", "yes", "1", 1, 0, [True]],
    "url": ["ftp://example.com/file", "javascript:alert(1)", "example.com", "https://", "https://exa mple.com",
            "mailto:a@example.com", 5, "https://" + "a" * 2000],
}


@pytest.fixture
def typed_fields(org, board):
    fields = {kind: field(org, f"{kind}_field", kind, boards=[board], label=f"{kind.capitalize()} field",
                          options=["Alpha", "Beta"] if kind == "select" else [])
              for kind in CustomFieldDefinition.FieldType.values}
    return fields


@pytest.mark.parametrize(("kind", "value"), [(kind, value) for kind, values in GOOD.items() for value in values])
def test_each_type_takes_its_own_values(admin_user, board, typed_fields, kind, value):
    task = rules.create_task(admin_user, board, {"title": "Typed", "custom_field_values": {f"{kind}_field": value}})

    assert Task.objects.get(pk=task.pk).custom_field_values == {f"{kind}_field": value}


@pytest.mark.parametrize(("kind", "value"), [(kind, value) for kind, values in BAD.items() for value in values])
def test_each_type_refuses_other_values_with_a_sentence_naming_the_field(admin_user, board, typed_fields, kind,
                                                                         value):
    task = make_task(board, "Typed")

    with refused(422, "invalid_custom_field_value") as caught:
        rules.update_task(admin_user, task, {"custom_field_values": {f"{kind}_field": value}})

    detail = caught.value.detail
    assert f"{kind.capitalize()} field ({kind}_field)" in detail["message"]
    assert detail["custom_field"] == f"{kind}_field" and detail["field_type"] == kind
    assert detail["custom_field_values"] == [detail["message"]]
    assert Task.objects.get(pk=task.pk).custom_field_values == {}


def test_a_boolean_given_as_text_is_told_to_send_a_json_boolean(admin_user, board, typed_fields):
    with refused(422, "invalid_custom_field_value") as caught:
        rules.create_task(admin_user, board, {"title": "T", "custom_field_values": {"boolean_field": "true"}})
    assert caught.value.message == "Boolean field (boolean_field) must be true or false (a JSON boolean, not text)."


def test_a_select_value_not_in_the_list_is_told_the_options(admin_user, board, typed_fields):
    with refused(422, "invalid_custom_field_value") as caught:
        rules.create_task(admin_user, board, {"title": "T", "custom_field_values": {"select_field": "Delta"}})
    assert caught.value.message == "Select field (select_field) must be one of: Alpha, Beta."


def test_a_url_must_be_http_or_https(admin_user, board, typed_fields):
    with refused(422, "invalid_custom_field_value") as caught:
        rules.create_task(admin_user, board, {"title": "T", "custom_field_values": {"url_field": "ftp://x.test/a"}})
    assert "http or https" in caught.value.message and "Url field (url_field)" in caught.value.message


def test_a_date_must_be_written_year_month_day(admin_user, board, typed_fields):
    with refused(422, "invalid_custom_field_value") as caught:
        rules.create_task(admin_user, board, {"title": "T", "custom_field_values": {"date_field": "12/01/2026"}})
    assert caught.value.message == "Date field (date_field) must be a date written YYYY-MM-DD."


def test_a_number_must_be_finite_and_within_bounds(admin_user, board, typed_fields):
    for value, words in ((math.nan, "finite"), (math.inf, "finite"), (10**16, "between")):
        with refused(422, "invalid_custom_field_value") as caught:
            rules.create_task(admin_user, board, {"title": "T", "custom_field_values": {"number_field": value}})
        assert words in caught.value.message and "Number field (number_field)" in caught.value.message


def test_a_key_the_board_does_not_have_is_refused_with_the_board_fields(admin_user, org, board, typed_fields):
    field(org, "elsewhere", "text")  # of the organization, but not attached to this board

    with refused(422, "unknown_custom_field") as caught:
        rules.create_task(admin_user, board, {"title": "T", "custom_field_values": {"elsewhere": "x"}})

    assert caught.value.detail["custom_fields"] == ["elsewhere"]
    assert "boolean_field, date_field" in caught.value.message


def test_values_must_come_as_an_object(admin_user, board, typed_fields):
    with refused(422, "invalid_custom_field_values"):
        rules.create_task(admin_user, board, {"title": "T", "custom_field_values": ["text_field", "x"]})


# --- required fields, merging, who may set values -------------------------------------------


def test_a_new_task_needs_every_required_field(admin_user, org, board):
    field(org, "points", "number", boards=[board], required=True, label="Points")
    field(org, "owner_team", "text", boards=[board], required=True, label="Team")

    with refused(422, "custom_field_required") as caught:
        rules.create_task(admin_user, board, {"title": "T", "custom_field_values": {"points": 1}})

    assert caught.value.message.startswith("Team (owner_team) is required on this board")
    assert caught.value.detail["custom_fields"] == ["owner_team"]
    with refused(422, "custom_field_required") as caught:
        rules.create_task(admin_user, board, {"title": "T"})
    assert caught.value.detail["custom_fields"] == ["owner_team", "points"]
    assert not Task.objects.exists()


def test_a_required_field_cannot_be_cleared_but_older_tasks_without_it_still_change(admin_user, org, board):
    older = make_task(board, "Older")
    field(org, "points", "number", boards=[board], required=True, label="Points")
    task = rules.create_task(admin_user, board, {"title": "T", "custom_field_values": {"points": 2}})

    with refused(422, "custom_field_required") as caught:
        rules.update_task(admin_user, task, {"custom_field_values": {"points": None}})
    assert caught.value.message == "Points (points) is required on this board and cannot be cleared."

    assert rules.update_task(admin_user, older, {"title": "Older, renamed"}).title == "Older, renamed"


def test_an_update_merges_values_and_null_clears_one(admin_user, org, board):
    field(org, "points", "number", boards=[board])
    field(org, "stage", "select", boards=[board], options=["Alpha", "Beta"])
    field(org, "notes", "text", boards=[board])
    task = make_task(board, "T", custom_field_values={"points": 1, "stage": "Alpha"})

    rules.update_task(admin_user, task, {"custom_field_values": {"points": 5, "stage": None, "notes": "Go"}})

    assert Task.objects.get(pk=task.pk).custom_field_values == {"points": 5, "notes": "Go"}
    event = ActivityEvent.objects.filter(event_type="task.updated").get()
    assert event.data["changes"] == ["custom_field_values"]
    assert event.data["custom_field_keys"] == ["notes", "points", "stage"]


def test_sending_the_values_a_task_already_has_changes_nothing(admin_user, org, board):
    field(org, "points", "number", boards=[board])
    task = make_task(board, "T", custom_field_values={"points": 1})

    rules.update_task(admin_user, task, {"custom_field_values": {"points": 1}})

    assert not ActivityEvent.objects.filter(event_type="task.updated").exists()


def test_a_lead_sets_values_when_it_creates_and_edits_tasks(lead, org, board):
    field(org, "points", "number", boards=[board])

    task = rules.create_task(lead, board, {"title": "T", "custom_field_values": {"points": 3}})
    rules.update_task(lead, task, {"custom_field_values": {"points": 5}})

    created = ActivityEvent.objects.get(event_type="task.created")
    assert created.actor_agent_id == lead.pk and created.data["custom_field_keys"] == ["points"]

    assert Task.objects.get(pk=task.pk).custom_field_values == {"points": 5}


def test_a_worker_sets_values_on_its_own_task_but_not_on_someone_elses(worker, lead, org, board):
    field(org, "points", "number", boards=[board])
    mine = make_task(board, "Mine", assigned_agent=worker)
    other = make_task(board, "Other", assigned_agent=lead)

    rules.update_task(worker, mine, {"custom_field_values": {"points": 2}})
    assert Task.objects.get(pk=mine.pk).custom_field_values == {"points": 2}
    with refused(403, "task_assigned_to_someone_else"):
        rules.update_task(worker, other, {"custom_field_values": {"points": 2}})


def test_a_worker_still_cannot_change_other_fields(worker, org, board):
    field(org, "points", "number", boards=[board])
    task = make_task(board, "Mine", assigned_agent=worker)

    with refused(403, "worker_can_only_change_status") as caught:
        rules.update_task(worker, task, {"title": "Renamed", "custom_field_values": {"points": 2}})
    assert caught.value.detail["fields"] == ["title"]
