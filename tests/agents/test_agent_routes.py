"""What each agent route returns: heartbeat, boards, agents, tags, memory, new workers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import ActivityEvent, Agent, Tag
from agents.tokens import mint_token
from tests.agents.agent_client import agent_client
from tests.conftest import make_agent, make_board

pytestmark = pytest.mark.django_db

HEARTBEAT = "/api/v1/agent/heartbeat"


def heartbeats(agent) -> int:
    return ActivityEvent.objects.filter(event_type="agent.heartbeat", agent_id=agent.id).count()


# --- heartbeat ------------------------------------------------------------------------------


def test_a_heartbeat_marks_the_agent_online_and_returns_it(worker, board):
    response = agent_client(mint_token(worker)).post(HEARTBEAT)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(worker.id)
    assert body["status"] == "online"
    assert body["board_id"] == str(board.id)
    assert set(body) == {"id", "name", "board_id", "gateway_id", "status", "is_board_lead", "is_gateway_main",
                         "identity_profile", "identity_template", "soul_template", "heartbeat_config",
                         "last_seen_at", "created_at", "updated_at"}
    worker.refresh_from_db()
    assert worker.last_seen_at is not None


def test_a_heartbeat_needs_no_body_and_ignores_none(worker):
    client = agent_client(mint_token(worker))

    assert client.post(HEARTBEAT, content_type="application/json").status_code == 200
    assert client.post(HEARTBEAT, {}, format="json").status_code == 200


def test_heartbeats_are_recorded_in_the_activity_log_at_most_once_a_minute(worker):
    client = agent_client(mint_token(worker))

    for _ in range(3):
        client.post(HEARTBEAT)
    assert heartbeats(worker) == 1

    Agent.objects.filter(pk=worker.pk).update(last_heartbeat_logged_at=timezone.now() - timedelta(seconds=61))
    client.post(HEARTBEAT)
    assert heartbeats(worker) == 2


def test_a_heartbeat_clears_a_stale_updating_state(worker):
    Agent.objects.filter(pk=worker.pk).update(lifecycle_status="updating", last_error="restarting",
                                              lifecycle_changed_at=timezone.now() - timedelta(minutes=5))

    body = agent_client(mint_token(worker)).post(HEARTBEAT).json()

    assert body["status"] == "online"
    worker.refresh_from_db()
    assert worker.lifecycle_status == "active"
    assert worker.last_error == ""
    assert ActivityEvent.objects.filter(event_type="agent.lifecycle_cleared", agent_id=worker.id).exists()


def test_a_heartbeat_ends_even_an_update_that_just_started(worker):
    # Provisioning runs carry a generation, so an update still running cannot be confused
    # by the agent checking in meanwhile: any call ends a transient state at once.
    Agent.objects.filter(pk=worker.pk).update(lifecycle_status="updating", lifecycle_changed_at=timezone.now())

    body = agent_client(mint_token(worker)).post(HEARTBEAT).json()

    assert body["status"] == "online"


def test_a_heartbeat_does_not_hide_an_error(worker):
    Agent.objects.filter(pk=worker.pk).update(lifecycle_status="error", last_error="gateway refused the config")

    body = agent_client(mint_token(worker)).post(HEARTBEAT).json()

    assert body["status"] == "error"


# --- boards and agents ---------------------------------------------------------------------


def test_a_board_agent_sees_only_its_board(worker, board, org, gateway, other_board):
    make_board(org, "Sibling", gateway=gateway)

    body = agent_client(mint_token(worker)).get("/api/v1/agent/boards").json()

    assert [item["id"] for item in body["items"]] == [str(board.id)]
    assert body["total"] == 1 and body["limit"] == 200 and body["offset"] == 0


def test_the_main_agent_sees_the_boards_of_its_organization_only(main_agent, board, org, gateway, other_board):
    sibling = make_board(org, "Sibling", gateway=gateway)

    items = agent_client(mint_token(main_agent)).get("/api/v1/agent/boards").json()["items"]

    assert sorted(item["id"] for item in items) == sorted([str(board.id), str(sibling.id)])


def test_paging_parameters_out_of_range_are_422(worker):
    response = agent_client(mint_token(worker)).get("/api/v1/agent/boards", {"limit": 500})

    assert response.status_code == 422
    assert "limit" in response.json()["detail"]


def test_a_board_agent_lists_the_agents_of_its_board(lead, worker, main_agent, foreign_agent, board):
    items = agent_client(mint_token(worker)).get("/api/v1/agent/agents").json()["items"]

    assert sorted(item["id"] for item in items) == sorted([str(lead.id), str(worker.id)])


def test_the_main_agent_lists_the_agents_of_its_organization(lead, worker, main_agent, foreign_agent):
    items = agent_client(mint_token(main_agent)).get("/api/v1/agent/agents").json()["items"]

    assert sorted(item["id"] for item in items) == sorted([str(lead.id), str(worker.id), str(main_agent.id)])


def test_filtering_agents_by_a_board_out_of_reach_is_403(worker, other_board):
    response = agent_client(mint_token(worker)).get("/api/v1/agent/agents", {"board_id": str(other_board.id)})

    assert response.status_code == 403
    assert response.json()["detail"]["code"] == "board_out_of_reach"


def test_filtering_agents_by_a_malformed_board_id_is_422_like_every_other_filter(worker):
    response = agent_client(mint_token(worker)).get("/api/v1/agent/agents", {"board_id": "junk"})

    assert response.status_code == 422
    assert "board_id" in response.json()["detail"]


def test_tags_are_those_of_the_boards_organization_as_a_plain_list(worker, board, org, other_org):
    Tag.objects.create(organization=org, name="Backend", slug="backend", color="112233")
    Tag.objects.create(organization=other_org, name="Secret", slug="secret", color="445566")

    body = agent_client(mint_token(worker)).get(f"/api/v1/agent/boards/{board.id}/tags").json()

    assert body == [{"id": body[0]["id"], "name": "Backend", "slug": "backend", "color": "112233"}]


# --- memory ---------------------------------------------------------------------------------


def test_memory_tagged_chat_is_chat_and_can_be_filtered(worker, board):
    client = agent_client(mint_token(worker))
    url = f"/api/v1/agent/boards/{board.id}/memory"
    chat = client.post(url, {"content": "Anyone on the deploy?", "tags": ["chat"]}, format="json")
    note = client.post(url, {"content": "Staging is at v2.", "source": "worker"}, format="json")

    assert chat.status_code == note.status_code == 201
    assert chat.json()["is_chat"] is True and note.json()["is_chat"] is False
    only_chat = client.get(url, {"is_chat": "true"}).json()["items"]
    assert [item["content"] for item in only_chat] == ["Anyone on the deploy?"]


def test_memory_without_content_is_422(worker, board):
    response = agent_client(mint_token(worker)).post(f"/api/v1/agent/boards/{board.id}/memory", {"content": " "},
                                                     format="json")

    assert response.status_code == 422
    assert "content" in str(response.json()["detail"])


# --- new workers ----------------------------------------------------------------------------


def test_a_lead_creates_a_worker_on_its_board_and_gets_its_token_once(lead, board):
    response = agent_client(mint_token(lead)).post("/api/v1/agent/agents", {"name": "Researcher"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["board_id"] == str(board.id)
    assert body["is_board_lead"] is False
    assert body["status"] == "provisioning"
    new_worker = agent_client(body["token"]).get("/api/v1/agent/healthz").json()
    assert new_worker["agent_id"] == body["id"]
    assert ActivityEvent.objects.filter(event_type="agent.created", agent_id=body["id"]).exists()


def test_a_lead_cannot_go_over_the_boards_max_agents(lead, worker, board):
    board.max_agents = 2
    board.save()

    response = agent_client(mint_token(lead)).post("/api/v1/agent/agents", {"name": "Third"}, format="json")

    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "board_full"
    assert Agent.objects.filter(board=board).count() == 2


def test_a_lead_cannot_reuse_a_name_on_its_board(lead, worker):
    response = agent_client(mint_token(lead)).post("/api/v1/agent/agents", {"name": "worker"}, format="json")

    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "agent_name_taken"


def test_a_worker_needs_a_name_and_a_lead_cannot_add_a_lead(lead):
    client = agent_client(mint_token(lead))

    nameless = client.post("/api/v1/agent/agents", {"name": ""}, format="json")
    promoted = client.post("/api/v1/agent/agents", {"name": "Boss", "is_board_lead": True}, format="json")

    assert nameless.status_code == promoted.status_code == 422
    assert nameless.json()["detail"]["code"] == "agent_name_required"
    assert promoted.json()["detail"]["code"] == "workers_only"


def test_workers_of_other_boards_do_not_count_against_the_limit(lead, board, org, gateway):
    sibling = make_board(org, "Sibling", gateway=gateway)
    for number in range(3):
        make_agent(f"Sibling worker {number}", board=sibling)
    board.max_agents = 2
    board.save()

    response = agent_client(mint_token(lead)).post("/api/v1/agent/agents", {"name": "Second"}, format="json")

    assert response.status_code == 201


# --- lists ----------------------------------------------------------------------------------


def test_lists_report_the_total_beyond_the_page(worker, board):
    from tests.conftest import make_task

    for number in range(5):
        make_task(board, f"Task {number}")
    client = agent_client(mint_token(worker))
    url = f"/api/v1/agent/boards/{board.id}/tasks"

    first = client.get(url, {"limit": 2}).json()
    last = client.get(url, {"limit": 2, "offset": 4}).json()
    past_the_end = client.get(url, {"limit": 2, "offset": 10}).json()

    assert (len(first["items"]), first["total"], first["limit"], first["offset"]) == (2, 5, 2, 0)
    assert (len(last["items"]), last["total"]) == (1, 5)
    assert (past_the_end["items"], past_the_end["total"]) == ([], 5)


def test_a_short_list_needs_no_count_query(worker, board, django_assert_num_queries):
    Agent.objects.filter(pk=worker.pk).update(last_seen_at=timezone.now())
    client = agent_client(mint_token(worker))

    # The token lookup and the boards query.
    with django_assert_num_queries(2):
        body = client.get("/api/v1/agent/boards").json()

    assert body["total"] == 1


def test_the_agents_own_board_comes_with_the_token_lookup(worker, board, django_assert_num_queries):
    Agent.objects.filter(pk=worker.pk).update(last_seen_at=timezone.now())
    client = agent_client(mint_token(worker))

    # One query: the token lookup reads the agent's board in the same row.
    with django_assert_num_queries(1):
        body = client.get(f"/api/v1/agent/boards/{board.pk}").json()

    assert body["id"] == str(board.pk) and body["name"] == board.name


# --- a lead describes the worker it adds ------------------------------------------------------


def test_a_lead_adds_a_worker_with_its_identity_and_reads_it_back(board, lead):
    client = agent_client(mint_token(lead))
    identity = {"identity_profile": {"role": "Translator", "communication_style": "warm", "emoji": ":globe:",
                                     "languages": ["fr", "es"]},
                "identity_template": "# Translator\nYou translate release notes.\n",
                "soul_template": "Keep the meaning; change the words.\n",
                "heartbeat_config": {"every": "10m"}}

    created = client.post("/api/v1/agent/agents", {"name": "Polyglot", **identity}, format="json")

    assert created.status_code == 201, created.content
    assert {field: created.json()[field] for field in identity} == identity
    listed = {item["id"]: item for item in client.get("/api/v1/agent/agents").json()["items"]}
    assert {field: listed[created.json()["id"]][field] for field in identity} == identity


@pytest.mark.parametrize(("body", "code"), [
    ({"identity_profile": ["Translator"]}, "invalid_identity_profile"),
    ({"identity_profile": {"role": True}}, "invalid_identity_profile"),
    ({"heartbeat_config": {"every": 600}}, "invalid_heartbeat_config"),
    ({"soul_template": 42}, "invalid_soul_template"),
])
def test_a_lead_sending_identity_fields_of_the_wrong_type_gets_422_naming_the_field(board, lead, body, code):
    response = agent_client(mint_token(lead)).post("/api/v1/agent/agents", {"name": "Odd", **body}, format="json")

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail["code"] == code and detail["field"] in body and detail[detail["field"]]
    assert not Agent.objects.filter(name="Odd").exists()


# --- the main agent and board memory -------------------------------------------------------------


def test_the_main_agent_reads_a_leads_reply_and_writes_the_users_answer(board, lead, main_agent):
    agent_client(mint_token(lead)).post(f"/api/v1/agent/boards/{board.id}/memory",
                                        {"content": "Blocked on the API key.", "tags": ["gateway_main", "lead_reply"]},
                                        format="json")
    main = agent_client(mint_token(main_agent))

    notes = main.get(f"/api/v1/agent/boards/{board.id}/memory", {"is_chat": "false"})
    answer = main.post(f"/api/v1/agent/boards/{board.id}/memory",
                       {"content": "The user added the key to the vault.", "tags": ["gateway_main", "user_reply"],
                        "source": "user_via_gateway_main"}, format="json")

    assert notes.status_code == 200
    assert [item["content"] for item in notes.json()["items"]] == ["Blocked on the API key."]
    assert answer.status_code == 201
    assert answer.json()["tags"] == ["gateway_main", "user_reply"] and answer.json()["is_chat"] is False
    lead_view = agent_client(mint_token(lead)).get(f"/api/v1/agent/boards/{board.id}/memory").json()["items"]
    assert lead_view[0]["content"] == "The user added the key to the vault."


def test_the_main_agent_cannot_touch_another_organizations_board_memory(main_agent, other_board):
    main = agent_client(mint_token(main_agent))

    for response in (main.get(f"/api/v1/agent/boards/{other_board.id}/memory"),
                     main.post(f"/api/v1/agent/boards/{other_board.id}/memory", {"content": "Hi"}, format="json")):
        assert response.status_code == 403
        assert response.json()["detail"]["code"] == "board_out_of_reach"
