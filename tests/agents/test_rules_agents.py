"""Adding agents: the one set of limits people (user API, console) and leads (agent API) share."""

from __future__ import annotations

import pytest

from agents import rules
from agents.models import ActivityEvent, Agent
from agents.tokens import authenticate_token
from tests.agents.rules_helpers import refused
from tests.conftest import make_agent, make_gateway

pytestmark = pytest.mark.django_db


def test_an_admin_adds_a_worker_to_a_board_and_gets_its_token(admin_user, board, gateway):
    agent, token = rules.create_agent(admin_user, name="  Researcher ", board=board)

    assert (agent.name, agent.board, agent.gateway, agent.role) == ("Researcher", board, gateway, "worker")
    assert authenticate_token(token) == agent
    event = ActivityEvent.objects.get(event_type="agent.created")
    assert (event.agent_id, event.actor_user_id, event.board_id) == (agent.pk, admin_user.pk, board.pk)
    assert event.data == {"name": "Researcher", "role": "worker", "is_board_lead": False}


def test_a_lead_adding_a_worker_is_recorded_as_the_leads_act(lead, board):
    agent, _ = rules.create_agent(lead, name="Helper", board=board)

    event = ActivityEvent.objects.get(event_type="agent.created")
    assert event.actor_agent_id == lead.pk and event.agent_id == agent.pk
    assert "Lead" in event.message


def test_a_full_board_refuses_another_agent(admin_user, lead, worker, board):
    board.max_agents = 2
    board.save()

    with refused(409, "board_full"):
        rules.create_agent(admin_user, name="Third", board=board)
    assert Agent.objects.filter(board=board).count() == 2


def test_a_name_is_unique_on_its_board_whatever_the_case(lead, worker, board):
    with refused(409, "agent_name_taken"):
        rules.create_agent(lead, name="WORKER", board=board)


def test_a_board_has_one_lead(admin_user, lead, board):
    with refused(409, "board_has_lead"):
        rules.create_agent(admin_user, name="Second lead", board=board, is_board_lead=True)


@pytest.mark.parametrize(("name", "code"), [("", "agent_name_required"), ("   ", "agent_name_required"),
                                            (None, "agent_name_required"), ("x" * 201, "agent_name_too_long")])
def test_an_agent_needs_a_sensible_name(admin_user, board, name, code):
    with refused(422, code):
        rules.create_agent(admin_user, name=name, board=board)


def test_a_gateway_has_one_main_agent(admin_user, main_agent, gateway):
    with refused(409, "gateway_has_main_agent"):
        rules.create_agent(admin_user, name="Second main", gateway=gateway)


def test_a_main_agent_needs_a_gateway_and_cannot_lead(admin_user, org):
    with refused(422, "gateway_required"):
        rules.create_agent(admin_user, name="Nowhere")
    with refused(422, "lead_needs_board"):
        rules.create_agent(admin_user, name="Boss", gateway=make_gateway(org, "Spare"), is_board_lead=True)


def test_a_main_agent_belongs_to_its_gateways_organization(admin_user, org):
    spare = make_gateway(org, "Spare")

    agent, _ = rules.create_agent(admin_user, name="Atlas", gateway=spare)

    assert (agent.board_id, agent.gateway, agent.organization_id, agent.role) == (None, spare, org.pk, "main")


def test_agents_of_other_boards_do_not_count(admin_user, board, other_board):
    make_agent("Elsewhere", board=other_board)
    board.max_agents = 1
    board.save()

    agent, _ = rules.create_agent(admin_user, name="Elsewhere", board=board)

    assert agent.board == board


# --- who the agent is: identity profile, templates, heartbeat settings ------------------------

PROFILE = {"role": "Changelog writer", "communication_style": "direct, concise", "emoji": ":memo:",
           "skills": ["git", "semver"], "favourite_editor": "vim"}


def test_a_lead_describes_the_worker_it_adds(lead, board):
    agent, _ = rules.create_worker(lead, {
        "name": "Scribe", "identity_profile": {**PROFILE, "role": "  Changelog writer "},
        "identity_template": "# Scribe\n", "soul_template": "You keep the changelog honest.\n",
        "heartbeat_config": {"every": "15m", "target": "none"}})

    agent.refresh_from_db()
    assert agent.identity_profile == PROFILE  # trimmed, unknown keys kept
    assert (agent.identity_template, agent.soul_template) == ("# Scribe\n", "You keep the changelog honest.\n")
    assert agent.heartbeat_config == {"every": "15m", "target": "none"}
    event = ActivityEvent.objects.get(event_type="agent.created")
    assert event.data["identity_fields"] == ["heartbeat_config", "identity_profile", "identity_template",
                                             "soul_template"]


def test_identity_fields_left_out_or_null_are_empty(lead, board):
    agent, _ = rules.create_worker(lead, {"name": "Plain", "identity_profile": None, "soul_template": None})

    assert (agent.identity_profile, agent.identity_template, agent.soul_template, agent.heartbeat_config) == (
        {}, "", "", {})
    assert "identity_fields" not in ActivityEvent.objects.get(event_type="agent.created").data


def test_a_null_value_inside_the_profile_is_left_out(admin_user, board):
    agent, _ = rules.create_agent(admin_user, name="Quiet", board=board,
                                  identity_profile={"role": "Tester", "emoji": None})

    assert agent.identity_profile == {"role": "Tester"}


@pytest.mark.parametrize("profile", [
    "Tester", ["role", "Tester"], {"role": 3}, {"role": {"name": "Tester"}}, {"skills": ["git", 2]},
    {"": "empty key"}, {"role": "x" * 2001}, {f"k{n}": "v" for n in range(51)}, {"skills": ["s"] * 51},
])
def test_a_profile_of_the_wrong_shape_is_422_naming_the_field(admin_user, board, profile):
    with refused(422, "invalid_identity_profile") as caught:
        rules.create_agent(admin_user, name="Odd", board=board, identity_profile=profile)
    assert caught.value.detail["field"] == "identity_profile" and caught.value.detail["identity_profile"]
    assert not Agent.objects.filter(name="Odd").exists()


@pytest.mark.parametrize("config", ["10m", ["every", "10m"], {"every": 10}, {"every": "ten minutes"},
                                    {"every": "10 m"}, {"every": "1h30m"}, {"every": "10"},
                                    {"every": "10m", "blob": "x" * 5000}])
def test_a_heartbeat_config_of_the_wrong_shape_is_422(admin_user, board, config):
    with refused(422, "invalid_heartbeat_config") as caught:
        rules.create_agent(admin_user, name="Odd", board=board, heartbeat_config=config)
    assert caught.value.detail["field"] == "heartbeat_config"


@pytest.mark.parametrize("every", ["500ms", "45s", "10m", "2h", "1d"])
def test_heartbeat_every_takes_a_number_and_a_unit(admin_user, board, every):
    agent, _ = rules.create_agent(admin_user, name="Timed", board=board, heartbeat_config={"every": every})
    assert agent.heartbeat_config == {"every": every}


@pytest.mark.parametrize("field", ["identity_template", "soul_template"])
def test_templates_are_text_of_bounded_length(admin_user, board, field):
    with refused(422, f"invalid_{field}"):
        rules.create_agent(admin_user, name="Odd", board=board, **{field: {"text": "no"}})
    with refused(422, f"{field}_too_long"):
        rules.create_agent(admin_user, name="Odd", board=board, **{field: "x" * 65_537})
    agent, _ = rules.create_agent(admin_user, name="Fits", board=board, **{field: "x" * 65_536})
    assert len(getattr(agent, field)) == 65_536


def test_an_admin_changes_who_an_agent_is(admin_user, worker):
    agent = rules.update_agent(admin_user, worker, {"identity_profile": {"role": "Reviewer"},
                                                    "heartbeat_config": {"every": "30m"}})

    agent.refresh_from_db()
    assert (agent.identity_profile, agent.heartbeat_config) == ({"role": "Reviewer"}, {"every": "30m"})
    event = ActivityEvent.objects.get(event_type="agent.updated")
    assert event.data["fields"] == ["heartbeat_config", "identity_profile"]


def test_a_bad_identity_on_update_changes_nothing(admin_user, worker):
    with refused(422, "invalid_identity_profile"):
        rules.update_agent(admin_user, worker, {"name": "Renamed", "identity_profile": {"role": 1}})
    worker.refresh_from_db()
    assert (worker.name, worker.identity_profile) == ("Worker", {})
