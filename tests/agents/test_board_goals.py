"""Board goals: a board's kind, objective, success metrics, target date and whether a person
confirmed the goal, through the rule, both APIs, the console and the agents' files."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from agents import rules
from agents.gateway import workspace
from agents.models import ActivityEvent, Board
from tests.agents.api_helpers import assert_refused
from tests.agents.rules_helpers import refused

pytestmark = pytest.mark.django_db

GOAL = {"objective": "Launch the public beta", "board_type": "goal",
        "success_metrics": {"signups": 100, "launch": "public beta"},
        "target_date": "2027-03-31T00:00:00Z", "goal_confirmed": True}


@pytest.fixture
def admin(client_for, admin_user):
    return client_for(admin_user)


# --- the rule -------------------------------------------------------------------------------


def test_a_new_board_is_an_unconfirmed_goal_board_without_metrics_or_date(admin_user, org):
    board = rules.create_board(admin_user, org, {"name": "Plain"})
    assert (board.board_type, board.success_metrics, board.target_date, board.goal_confirmed) == (
        "goal", {}, None, False)


def test_a_board_keeps_its_goal_with_the_metric_names_trimmed(admin_user, org):
    board = rules.create_board(admin_user, org, {"name": "Beta", **GOAL,
                                                 "success_metrics": {" signups ": 100, "launch": "public beta"}})
    board.refresh_from_db()
    assert board.success_metrics == {"signups": 100, "launch": "public beta"}
    assert board.target_date == datetime(2027, 3, 31, tzinfo=UTC) and board.goal_confirmed is True


def test_a_target_date_without_a_time_is_its_midnight_utc(admin_user, board):
    rules.update_board(admin_user, board, {"target_date": "2027-06-01"})
    board.refresh_from_db()
    assert board.target_date == datetime(2027, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(("data", "code", "field"), [
    ({"board_type": "sprint"}, "invalid_board_type", "board_type"),
    ({"board_type": None}, "board_type_required", "board_type"),
    ({"success_metrics": ["signups"]}, "invalid_success_metrics", "success_metrics"),
    ({"success_metrics": {" ": 1}}, "invalid_success_metrics", "success_metrics"),
    ({"success_metrics": {f"m{n}": n for n in range(51)}}, "invalid_success_metrics", "success_metrics"),
    ({"success_metrics": {"notes": "x" * 10_001}}, "invalid_success_metrics", "success_metrics"),
    ({"target_date": "next spring"}, "invalid_target_date", "target_date"),
    ({"target_date": "2027-02-30T10:00:00"}, "invalid_target_date", "target_date"),
    ({"goal_confirmed": "yes"}, "invalid_goal_confirmed", "goal_confirmed"),
])
def test_goal_values_of_the_wrong_shape_are_422_naming_the_field(admin_user, board, data, code, field):
    with refused(422, code) as caught:
        rules.update_board(admin_user, board, data)
    assert caught.value.detail["field"] == field
    board.refresh_from_db()
    assert (board.board_type, board.success_metrics, board.target_date) == ("goal", {}, None)


@pytest.mark.parametrize(("data", "field"), [
    ({"goal_confirmed": True, "success_metrics": {"signups": 100}}, "objective"),
    ({"goal_confirmed": True, "objective": "   ", "success_metrics": {"signups": 100}}, "objective"),
    ({"goal_confirmed": True, "objective": "Launch"}, "success_metrics"),
])
def test_a_confirmed_goal_needs_an_objective_and_a_metric(admin_user, org, data, field):
    with refused(422, "goal_incomplete") as caught:
        rules.create_board(admin_user, org, {"name": "Beta", **data})
    assert caught.value.detail["field"] == field
    assert not Board.objects.filter(name="Beta").exists()


def test_a_confirmed_goal_cannot_lose_its_objective_or_metrics_later(admin_user, org):
    board = rules.create_board(admin_user, org, {"name": "Beta", **GOAL})
    for change in ({"objective": ""}, {"success_metrics": None}, {"success_metrics": {}}):
        with refused(422, "goal_incomplete"):
            rules.update_board(admin_user, board, change)
    board.refresh_from_db()
    assert board.objective == GOAL["objective"] and board.success_metrics == GOAL["success_metrics"]
    # Unconfirming it first lets the goal change freely.
    rules.update_board(admin_user, board, {"goal_confirmed": False, "success_metrics": None})
    board.refresh_from_db()
    assert (board.goal_confirmed, board.success_metrics) == (False, {})


def test_confirming_the_goal_of_a_board_without_metrics_is_422(admin_user, board):
    rules.update_board(admin_user, board, {"objective": "Ship v2"})
    with refused(422, "goal_incomplete"):
        rules.update_board(admin_user, board, {"goal_confirmed": True})


def test_a_general_board_may_be_confirmed_without_a_goal(admin_user, org):
    board = rules.create_board(admin_user, org, {"name": "Ops", "board_type": "general", "goal_confirmed": True})
    assert board.board_type == "general" and board.goal_confirmed is True


def test_changing_the_goal_records_the_fields_that_changed(admin_user, board):
    rules.update_board(admin_user, board, {"objective": "Ship v2", "success_metrics": {"bugs": 0},
                                           "target_date": "2027-01-01", "board_type": "goal"})
    event = ActivityEvent.objects.get(event_type="board.updated", board_id=board.pk)
    assert event.data["fields"] == ["objective", "success_metrics", "target_date"]
    assert event.actor_user_id == admin_user.pk


def test_a_member_cannot_change_the_goal(member, board):
    with refused(403, "admin_required"):
        rules.update_board(member, board, {"goal_confirmed": True})
    board.refresh_from_db()
    assert board.goal_confirmed is False


# --- people's API -----------------------------------------------------------------------------


def test_people_create_and_read_a_goal_board_through_the_api(admin, org):
    created = admin.post("/api/v1/boards", {"name": "Beta", **GOAL}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert {name: body[name] for name in GOAL} == {**GOAL, "target_date": "2027-03-31T00:00:00Z"}
    again = admin.get(f"/api/v1/boards/{body['id']}").json()
    assert again["success_metrics"] == {"signups": 100, "launch": "public beta"}


def test_people_change_the_goal_through_the_api_and_refusals_name_the_rule(admin, board):
    changed = admin.patch(f"/api/v1/boards/{board.pk}", {"board_type": "general", "target_date": None},
                          format="json")
    assert changed.status_code == 200 and changed.json()["board_type"] == "general"
    body = assert_refused(admin.patch(f"/api/v1/boards/{board.pk}", {"board_type": "goal", "goal_confirmed": True},
                                      format="json"), 422, "goal_incomplete")
    assert body["detail"]["field"] == "objective"
    assert_refused(admin.patch(f"/api/v1/boards/{board.pk}", {"board_type": "kanban"}, format="json"), 422)
    assert_refused(admin.patch(f"/api/v1/boards/{board.pk}", {"success_metrics": "100 signups"}, format="json"), 422)
    assert_refused(admin.patch(f"/api/v1/boards/{board.pk}", {"target_date": "soon"}, format="json"), 422)


def test_a_member_cannot_change_the_goal_through_the_api(client_for, member, board):
    assert_refused(client_for(member).patch(f"/api/v1/boards/{board.pk}", {"goal_confirmed": False},
                                            format="json"), 403)


# --- agents -----------------------------------------------------------------------------------


def test_agents_read_the_goal_on_their_board_and_in_the_snapshot(admin_user, board, worker, lead, as_agent):
    rules.update_board(admin_user, board, GOAL)
    for agent in (worker, lead):
        client = as_agent(agent)
        read = client.get(f"/api/v1/agent/boards/{board.pk}").json()
        listed = client.get("/api/v1/agent/boards").json()["items"][0]
        snapshot = client.get(f"/api/v1/boards/{board.pk}/snapshot").json()["board"]
        for seen in (read, listed, snapshot):
            assert seen["board_type"] == "goal" and seen["goal_confirmed"] is True
            assert seen["success_metrics"] == GOAL["success_metrics"]
            assert seen["target_date"] == "2027-03-31T00:00:00Z"


def test_the_agents_instructions_carry_a_confirmed_goal(admin_user, board, lead, worker):
    rules.update_board(admin_user, board, {**GOAL, "target_date": "2027-03-31"})
    for agent in (lead, worker):
        text = workspace.render_workspace(agent, "mc_0123456789abcdef_" + "x" * 43)[0].content
        assert "The board's objective: Launch the public beta" in text
        assert "- signups: 100" in text and "- launch: public beta" in text
        assert "To be reached by 2027-03-31." in text
        assert "A person confirmed this goal" in text and "Nobody has confirmed" not in text


def test_the_lead_is_told_to_have_an_unconfirmed_goal_confirmed(admin_user, board, lead, worker):
    rules.update_board(admin_user, board, {"objective": "Ship v2", "success_metrics": {"bugs": 0}})
    lead_text = workspace.render_workspace(lead, "t")[0].content
    worker_text = workspace.render_workspace(worker, "t")[0].content
    assert "Nobody has confirmed this goal yet" in lead_text and "Ask the people in board chat" in lead_text
    assert "Nobody has confirmed this goal yet" in worker_text and "Ask the people" not in worker_text


def test_an_objective_alone_or_a_general_board_adds_no_goal_lines(admin_user, board, worker):
    rules.update_board(admin_user, board, {"objective": "Keep the docs current"})
    text = workspace.render_workspace(worker, "t")[0].content
    assert "Keep the docs current" in text and "confirmed" not in text and "measured" not in text
    rules.update_board(admin_user, board, {"board_type": "general", "success_metrics": {"pages": 10}})
    assert "measured" not in workspace.render_workspace(worker, "t")[0].content


# --- the console ------------------------------------------------------------------------------


def board_form(org, **fields):
    return {"organization": str(org.pk), "name": "Beta", "slug": "", "description": "", "objective": "",
            "board_type": "goal", "success_metrics": "", "target_date": "", "max_agents": "10",
            "require_approval_for_done": "on", **fields}


def test_an_admin_sets_the_goal_in_the_board_form(client, admin_user, org, console_static):
    client.force_login(admin_user)
    response = client.post(reverse("console:board_create"), board_form(
        org, objective="Launch the beta", success_metrics="signups: 100\nlaunch: public beta\n\n",
        target_date="2027-03-31", goal_confirmed="on"))
    assert response.status_code == 302
    board = Board.objects.get(name="Beta")
    assert board.success_metrics == {"signups": 100, "launch": "public beta"}
    assert board.target_date == datetime(2027, 3, 31, tzinfo=UTC) and board.goal_confirmed is True

    page = client.get(reverse("console:board_edit", args=[board.pk])).content.decode()
    # One line per metric; Postgres's jsonb keeps keys in its own order, not the typed one.
    assert "signups: 100" in page and "launch: public beta" in page and 'value="2027-03-31"' in page
    assert '<input type="checkbox" name="goal_confirmed"' in page
    assert "checked" in page.split('<input type="checkbox" name="goal_confirmed"')[1].split(">")[0]


def test_saving_the_board_form_keeps_a_target_time_and_metric_types_it_cannot_show(
        client, admin_user, org, board, console_static):
    rules.update_board(admin_user, board, {"target_date": "2027-03-31T15:30:00Z",
                                           "success_metrics": {"release": "100", "signups": 100}})
    client.force_login(admin_user)
    response = client.post(reverse("console:board_edit", args=[board.pk]), {
        **board_form(org, name=board.name, slug=board.slug, target_date="2027-03-31",
                     success_metrics="release: 100\nsignups: 100", description="Changed")})
    assert response.status_code == 302
    board.refresh_from_db()
    assert board.description == "Changed"
    assert board.target_date == datetime(2027, 3, 31, 15, 30, tzinfo=UTC)
    assert board.success_metrics == {"release": "100", "signups": 100}


def test_the_board_form_refuses_a_metric_without_a_name_and_an_incomplete_confirmed_goal(
        client, admin_user, org, console_static):
    client.force_login(admin_user)
    page = client.post(reverse("console:board_create"), board_form(org, success_metrics="just a line"))
    assert page.status_code == 422 and "Write each metric as name: target" in page.content.decode()
    page = client.post(reverse("console:board_create"), board_form(org, goal_confirmed="on", objective="Launch"))
    assert "A confirmed goal board needs an objective and at least one success metric." in page.content.decode()
    assert not Board.objects.filter(name="Beta").exists()


def test_the_board_page_shows_the_goal_in_its_header(client, member, admin_user, board, console_static):
    rules.update_board(admin_user, board, GOAL)
    client.force_login(member)
    page = client.get(reverse("console:board", args=[board.pk])).content.decode()
    assert "Goal confirmed" in page and "31 March 2027" in page
    assert "<strong>signups</strong>: 100" in page and "<strong>launch</strong>: public beta" in page
    rules.update_board(admin_user, board, {"goal_confirmed": False})
    assert "Goal not confirmed" in client.get(reverse("console:board", args=[board.pk])).content.decode()
    rules.update_board(admin_user, board, {"board_type": "general"})
    assert "General board" in client.get(reverse("console:board", args=[board.pk])).content.decode()
