"""The heartbeat paths of older workspaces: POST /api/v1/agents/heartbeat and
POST /api/v1/agents/{id}/heartbeat, with the agent's token, as the agent heartbeat."""

from __future__ import annotations

import uuid

import pytest

from agents.models import ActivityEvent, Agent
from agents.tokens import mint_token
from tests.agents.agent_client import HEADER_FORMS, agent_client
from tests.agents.api_helpers import assert_refused

pytestmark = pytest.mark.django_db

LEGACY = "/api/v1/agents/heartbeat"


def own(agent) -> str:
    return f"/api/v1/agents/{agent.id}/heartbeat"


@pytest.mark.parametrize("form", HEADER_FORMS)
@pytest.mark.parametrize("caller", ["lead", "worker", "main_agent"])
def test_both_paths_act_and_answer_as_the_agent_heartbeat(request, caller, form):
    agent = request.getfixturevalue(caller)
    client = agent_client(mint_token(agent), form)
    reference = client.post("/api/v1/agent/heartbeat").json()

    for path in (LEGACY, own(agent)):
        response = client.post(path, {"name": agent.name, "status": "online"}, format="json")
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == set(reference) and body["id"] == str(agent.id) and body["status"] == "online"
    agent.refresh_from_db()
    assert agent.last_seen_at is not None
    # At most one recorded heartbeat a minute, whichever path it came by.
    assert ActivityEvent.objects.filter(event_type="agent.heartbeat", agent_id=agent.id).count() == 1


def test_the_body_is_not_read(worker, lead, board):
    client = agent_client(mint_token(worker))

    response = client.post(LEGACY, {"name": lead.name, "board_id": str(uuid.uuid4()), "status": "deleting",
                                    "extra": [1, 2]}, format="json")
    bare = client.post(LEGACY)

    assert response.status_code == bare.status_code == 200
    assert response.json()["id"] == str(worker.id) and response.json()["status"] == "online"
    worker.refresh_from_db()
    assert worker.lifecycle_status == Agent.Lifecycle.ACTIVE


def test_the_id_of_another_agent_is_403_with_a_rule_code(worker, lead):
    response = agent_client(mint_token(worker)).post(own(lead), {"status": "online"}, format="json")

    body = assert_refused(response, 403, "heartbeat_for_another_agent")
    assert body["detail"]["agent_id"] == str(worker.id)
    lead.refresh_from_db()
    assert lead.last_seen_at is None


def test_an_unknown_agent_id_is_403_too(worker):
    assert_refused(agent_client(mint_token(worker)).post(f"/api/v1/agents/{uuid.uuid4()}/heartbeat"), 403,
                   "heartbeat_for_another_agent")


@pytest.mark.parametrize("path", [LEGACY, "/api/v1/agents/{id}/heartbeat"])
def test_without_a_token_or_with_a_wrong_one_it_is_401(worker, path):
    path = path.format(id=worker.id)
    assert_refused(agent_client(None).post(path), 401)
    for form in HEADER_FORMS:
        assert_refused(agent_client("mc_0123456789abcdef_" + "z" * 43, form).post(path), 401)


@pytest.mark.parametrize("path", [LEGACY, "/api/v1/agents/{id}/heartbeat"])
def test_a_person_calling_it_is_told_it_is_for_agents(client_for, admin_user, api_client, settings, worker, path):
    path = path.format(id=worker.id)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.LOCAL_AUTH_TOKEN}")

    for response in (client_for(admin_user).post(path), api_client.post(path)):
        body = assert_refused(response, 403, "agents_only")
        assert "agent" in body["detail"]["message"]


def test_the_user_api_routes_next_to_them_are_not_shadowed(client_for, admin_user, worker):
    admin = client_for(admin_user)

    assert admin.get(f"/api/v1/agents/{worker.id}").status_code == 200
    assert admin.patch(f"/api/v1/agents/{worker.id}", {"name": "Renamed"}, format="json").status_code == 200
    assert admin.post(f"/api/v1/agents/{worker.id}/token").status_code == 200
    assert admin.get("/api/v1/agents").status_code == 200


def test_only_post_is_served_there(worker):
    client = agent_client(mint_token(worker))

    for response in (client.get(LEGACY), client.get(own(worker)), client.delete(own(worker))):
        assert_refused(response, 405)


def test_the_legacy_paths_count_against_the_agent_limits(settings, worker):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "agent_requests": (2, 86_400)}  # one period spans the whole test
    client = agent_client(mint_token(worker))

    assert [client.post(LEGACY).status_code for _ in range(3)] == [200, 200, 429]
