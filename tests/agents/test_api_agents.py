"""Agents through the user API: create with a token shown once, change, delete, rotate."""

from __future__ import annotations

import pytest

from agents.models import ActivityEvent, Agent
from tests.agents.api_helpers import assert_refused
from tests.conftest import make_agent, make_gateway

pytestmark = pytest.mark.django_db

# People also see the agent's lifecycle on its gateway (state, reason, deadlines).
AGENT_FIELDS = {"id", "name", "board_id", "gateway_id", "status", "is_board_lead", "is_gateway_main",
                "identity_profile", "identity_template", "soul_template", "heartbeat_config",
                "last_seen_at", "created_at", "updated_at", "lifecycle"}


@pytest.fixture
def admin(client_for, admin_user):
    return client_for(admin_user)


def agent_healthz(api_client, token):
    api_client.credentials()
    return api_client.get("/api/v1/agent/healthz", HTTP_X_AGENT_TOKEN=token)


def test_creating_an_agent_answers_its_token_once(admin, api_client, board, gateway):
    response = admin.post("/api/v1/agents", {"name": "Scout", "board_id": str(board.pk)}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == AGENT_FIELDS | {"token"}
    assert body["board_id"] == str(board.pk) and body["gateway_id"] == str(gateway.pk)
    assert body["status"] == "provisioning" and body["is_gateway_main"] is False
    assert agent_healthz(api_client, body["token"]).status_code == 200

    again = admin.get(f"/api/v1/agents/{body['id']}").json()
    assert "token" not in again and set(again) == AGENT_FIELDS
    assert ActivityEvent.objects.filter(event_type="agent.created", agent_id=body["id"]).exists()


def test_a_gateway_main_agent_is_an_agent_without_a_board(admin, org):
    gateway = make_gateway(org, "Fresh")
    response = admin.post("/api/v1/agents", {"name": "Main", "gateway_id": str(gateway.pk)}, format="json")
    assert response.status_code == 201
    assert response.json()["is_gateway_main"] is True and response.json()["board_id"] is None

    assert_refused(admin.post("/api/v1/agents", {"name": "Second main", "gateway_id": str(gateway.pk)},
                              format="json"), 409, "gateway_has_main_agent")


def test_an_agent_needs_a_board_or_a_gateway(admin):
    assert_refused(admin.post("/api/v1/agents", {"name": "Nowhere"}, format="json"), 422, "gateway_required")


def test_a_second_lead_on_a_board_is_409(admin, board, lead):
    assert_refused(admin.post("/api/v1/agents", {"name": "Another lead", "board_id": str(board.pk),
                                                 "is_board_lead": True}, format="json"), 409, "board_has_lead")


def test_a_duplicate_name_on_a_board_is_409(admin, board, worker):
    assert_refused(admin.post("/api/v1/agents", {"name": "worker", "board_id": str(board.pk)}, format="json"),
                   409, "agent_name_taken")


def test_a_full_board_refuses_another_agent(admin, board, lead, worker):
    board.max_agents = 2
    board.save()
    assert_refused(admin.post("/api/v1/agents", {"name": "Third", "board_id": str(board.pk)}, format="json"),
                   409, "board_full")
    assert Agent.objects.filter(board=board).count() == 2


def test_an_agent_cannot_go_on_another_organizations_board(admin, other_board):
    assert_refused(admin.post("/api/v1/agents", {"name": "Spy", "board_id": str(other_board.pk)}, format="json"),
                   404)


def test_rotating_the_token_stops_the_old_one_at_once(admin, api_client, worker):
    from agents.tokens import mint_token

    old = mint_token(worker)
    assert agent_healthz(api_client, old).status_code == 200

    response = admin.post(f"/api/v1/agents/{worker.pk}/token")

    assert response.status_code == 200
    new = response.json()["token"]
    assert set(response.json()) == {"token", "previous_token_valid_until"} and new != old
    assert response.json()["previous_token_valid_until"] is None
    assert_refused(agent_healthz(api_client, old), 401)
    assert agent_healthz(api_client, new).status_code == 200
    assert ActivityEvent.objects.filter(event_type="agent.token_rotated", agent_id=worker.pk).exists()


def test_an_admin_renames_an_agent(admin, worker):
    response = admin.patch(f"/api/v1/agents/{worker.pk}", {"name": "Builder"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Builder"
    worker.refresh_from_db()
    assert worker.name == "Builder" and worker.is_board_lead is False


def test_making_a_second_lead_by_update_is_409(admin, lead, worker):
    assert_refused(admin.patch(f"/api/v1/agents/{worker.pk}", {"is_board_lead": True}, format="json"),
                   409, "board_has_lead")


def test_an_agent_does_not_move_to_another_board(admin, worker, org):
    from tests.conftest import make_board

    other = make_board(org, "Other")
    assert_refused(admin.patch(f"/api/v1/agents/{worker.pk}", {"board_id": str(other.pk)}, format="json"),
                   422, "agent_board_fixed")


def test_deleting_an_agent_unassigns_its_tasks_and_keeps_history(admin, worker, board):
    from tests.conftest import make_task

    task = make_task(board, assigned_agent=worker)
    assert admin.delete(f"/api/v1/agents/{worker.pk}").status_code == 204
    task.refresh_from_db()
    assert task.assigned_agent_id is None
    assert ActivityEvent.objects.filter(event_type="agent.deleted", agent_id=worker.pk).exists()


def test_the_agent_list_filters_by_board(admin, board, lead, worker, main_agent, org):
    from tests.conftest import make_board

    elsewhere = make_agent("Elsewhere", board=make_board(org, "Second"))
    names = [a["name"] for a in admin.get(f"/api/v1/agents?board_id={board.pk}").json()["items"]]
    assert names == ["Lead", "Worker"]
    everyone = [a["name"] for a in admin.get("/api/v1/agents").json()["items"]]
    assert set(everyone) == {"Lead", "Worker", "Main", elsewhere.name}
    assert_refused(admin.get("/api/v1/agents?board_id=nope"), 422)


# --- who the agent is ------------------------------------------------------------------------

IDENTITY = {"identity_profile": {"role": "Researcher", "emoji": ":mag:", "languages": ["en", "de"]},
            "identity_template": "# Researcher\n", "soul_template": "Cite every source.\n",
            "heartbeat_config": {"every": "20m"}}


def test_an_admin_creates_an_agent_with_its_identity_and_reads_it_back(admin, board):
    response = admin.post("/api/v1/agents", {"name": "Scout", "board_id": str(board.pk), **IDENTITY}, format="json")

    assert response.status_code == 201, response.content
    again = admin.get(f"/api/v1/agents/{response.json()['id']}").json()
    assert {field: again[field] for field in IDENTITY} == IDENTITY


def test_an_admin_changes_an_agents_identity(admin, worker):
    response = admin.patch(f"/api/v1/agents/{worker.pk}", {"soul_template": "Be brief.",
                                                           "heartbeat_config": {"every": "5m"}}, format="json")

    assert response.status_code == 200
    assert (response.json()["soul_template"], response.json()["heartbeat_config"]) == ("Be brief.", {"every": "5m"})


@pytest.mark.parametrize(("body", "field"), [
    ({"identity_profile": "Researcher"}, "identity_profile"),
    ({"identity_profile": {"role": 7}}, "identity_profile"),
    ({"identity_template": {"x": 1}}, "identity_template"),
    ({"soul_template": ["Be brief."]}, "soul_template"),
    ({"heartbeat_config": "10m"}, "heartbeat_config"),
    ({"heartbeat_config": {"every": "often"}}, "heartbeat_config"),
])
def test_identity_fields_of_the_wrong_type_are_422_with_the_field_named(admin, board, worker, body, field):
    created = admin.post("/api/v1/agents", {"name": "Odd", "board_id": str(board.pk), **body}, format="json")
    changed = admin.patch(f"/api/v1/agents/{worker.pk}", body, format="json")

    for response in (created, changed):
        refusal = assert_refused(response, 422)
        assert field in refusal["detail"], refusal
    assert not Agent.objects.filter(name="Odd").exists()


def test_a_member_limited_to_some_boards_lists_and_opens_only_their_boards_agents(client_for, admin_user, member, org,
                                                                                  board, gateway, worker, main_agent):
    from agents import rules
    from agents.models import Membership
    from tests.conftest import make_board

    hidden = make_agent("Payroll worker", board=make_board(org, "Payroll"), gateway=gateway)
    rules.set_board_access(admin_user, Membership.objects.get(user=member), {
        "all_boards_read": False, "all_boards_write": False, "boards": [{"board_id": str(board.pk)}]})
    client = client_for(member)

    assert [item["id"] for item in client.get("/api/v1/agents").json()["items"]] == [str(worker.pk)]
    assert client.get(f"/api/v1/agents?gateway_id={gateway.pk}").json()["total"] == 1
    assert client.get(f"/api/v1/agents/{worker.pk}").status_code == 200
    for agent in (hidden, main_agent):  # another board's agent, and the main agent of every board
        assert_refused(client.get(f"/api/v1/agents/{agent.pk}"), 404)
        assert_refused(client.patch(f"/api/v1/agents/{agent.pk}", {"name": "Mine"}, format="json"), 404)
        assert_refused(client.delete(f"/api/v1/agents/{agent.pk}"), 404)
    assert {item["id"] for item in client_for(admin_user).get("/api/v1/agents").json()["items"]} == {
        str(worker.pk), str(hidden.pk), str(main_agent.pk)}
