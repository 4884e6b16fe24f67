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
