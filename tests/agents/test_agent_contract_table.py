"""The table: what agents written against the earlier server do, one test per row, through
HTTP with real tokens, as such an agent would call.

| Row | What the agent does |
|---|---|
| worker comments elsewhere | a worker comments on a task someone else holds (POST and comment-only PATCH) |
| lead describes a worker | a lead adds a worker with identity_profile, identity_template, soul_template, heartbeat_config and reads them back |
| priority words | a lead sends priority "critical" |
| older heartbeats | POST /api/v1/agents/heartbeat and POST /api/v1/agents/{id}/heartbeat |
| user API reads | an agent token on snapshot, tasks, memory and activity, and 403 outside its reach |
| main agent memory | the main agent reads and writes board memory on its organization's boards, not another's |
| one gateway address | 20 agents behind one IP, each with a burst of calls, see no 429 |

The rows of the routes that had no counterpart here (lead message, broadcast, nudge, soul,
retire, ask-user) are tests/agents/test_agent_coordination.py; pushed events are
tests/agents/test_events.py and tests/gateway/test_outbox.py.
"""

from __future__ import annotations

import pytest

from agents.models import ActivityEvent, Agent, BoardMemory
from agents.tokens import mint_token
from tests.agents.agent_client import agent_client
from tests.conftest import make_agent, make_board, make_task

pytestmark = pytest.mark.django_db

API = "/api/v1/agent"


def board_url(board, rest: str = "") -> str:
    return f"{API}/boards/{board.id}{rest}"


def test_row_worker_comments_on_a_task_someone_else_holds(board, lead, worker):
    colleague = make_agent("Colleague", board=board)
    task = make_task(board, "Fix the flaky test", status="in_progress", assigned_agent=colleague)
    api = agent_client(mint_token(worker))

    posted = api.post(board_url(board, f"/tasks/{task.id}/comments"),
                      {"message": "@Colleague the retry loop in conftest.py hides the failure."}, format="json")
    patched = api.patch(board_url(board, f"/tasks/{task.id}"), {"comment": "I can pair on it after lunch."},
                        format="json")
    refused = api.patch(board_url(board, f"/tasks/{task.id}"), {"status": "review", "comment": "Done for you."},
                        format="json")

    assert posted.status_code == 201 and posted.json()["agent_id"] == str(worker.id)
    assert patched.status_code == 200 and patched.json()["assigned_agent_id"] == str(colleague.id)
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == "task_assigned_to_someone_else"
    thread = api.get(board_url(board, f"/tasks/{task.id}/comments")).json()["items"]
    assert [c["message"] for c in thread] == ["@Colleague the retry loop in conftest.py hides the failure.",
                                              "I can pair on it after lunch."]
    task.refresh_from_db()
    assert (task.status, task.assigned_agent_id) == ("in_progress", colleague.id)


def test_row_lead_adds_a_worker_with_its_identity_and_reads_it_back(board, lead):
    api = agent_client(mint_token(lead))
    identity = {
        "identity_profile": {"role": "Release notes writer", "communication_style": "direct, concise, practical",
                             "emoji": ":memo:", "specialties": ["changelogs", "upgrade guides"],
                             "autonomy_level": "high"},
        "identity_template": "# IDENTITY\nYou write the release notes of this board.\n",
        "soul_template": "# SOUL\nSay what changed and why it matters; nothing else.\n",
        "heartbeat_config": {"every": "10m", "target": "last", "includeReasoning": False},
    }

    created = api.post(f"{API}/agents", {"name": "Scribe", "status": "provisioning", **identity}, format="json")

    assert created.status_code == 201, created.content
    worker = created.json()
    assert {field: worker[field] for field in identity} == identity
    assert worker["token"].startswith("mc_")
    listed = {item["id"]: item for item in api.get(f"{API}/agents").json()["items"]}
    assert {field: listed[worker["id"]][field] for field in identity} == identity
    as_itself = agent_client(worker["token"]).post(f"{API}/heartbeat").json()
    assert {field: as_itself[field] for field in identity} == identity


def test_row_lead_sends_priority_critical(board, lead):
    api = agent_client(mint_token(lead))

    created = api.post(board_url(board, "/tasks"), {"title": "Roll back the release", "priority": "critical"},
                       format="json")

    assert created.status_code == 201, created.content
    assert created.json()["priority"] == "urgent"
    listed = api.get(board_url(board, "/tasks")).json()["items"]
    assert [(t["title"], t["priority"]) for t in listed] == [("Roll back the release", "urgent")]
    event = ActivityEvent.objects.get(event_type="task.created", task_id=created.json()["id"])
    assert event.data["priority_sent"] == "critical"


@pytest.mark.parametrize("caller", ["lead", "worker", "main_agent"])
def test_row_older_heartbeat_routes(request, caller):
    agent = request.getfixturevalue(caller)
    api = agent_client(mint_token(agent))

    plain = api.post("/api/v1/agents/heartbeat",
                     {"name": agent.name, "board_id": str(agent.board_id) if agent.board_id else None,
                      "status": "online"}, format="json")
    by_id = api.post(f"/api/v1/agents/{agent.id}/heartbeat", {"status": "online"}, format="json")
    other = make_agent("Somebody else", board=request.getfixturevalue("board"))
    foreign = api.post(f"/api/v1/agents/{other.id}/heartbeat", {"status": "online"}, format="json")

    for response in (plain, by_id):
        assert response.status_code == 200, response.content
        assert response.json()["id"] == str(agent.id) and response.json()["status"] == "online"
    assert foreign.status_code == 403 and foreign.json()["detail"]["code"] == "heartbeat_for_another_agent"
    agent.refresh_from_db()
    assert agent.last_seen_at is not None


@pytest.mark.parametrize("caller", ["lead", "worker", "main_agent"])
def test_row_agent_token_on_the_user_api_reads(request, board, other_board, caller):
    agent = request.getfixturevalue(caller)
    make_task(board, "On our board")
    BoardMemory.objects.create(board=board, content="Deploy freeze on Friday.")
    ActivityEvent.objects.create(event_type="board.note", actor_type="system", board_id=other_board.id,
                                 organization_id=other_board.organization_id, message="Not ours")
    api = agent_client(mint_token(agent), "bearer")

    snapshot = api.get(f"/api/v1/boards/{board.id}/snapshot")
    tasks = api.get(f"/api/v1/boards/{board.id}/tasks")
    memory = api.get(f"/api/v1/boards/{board.id}/memory")
    activity = api.get("/api/v1/activity")

    assert snapshot.status_code == 200 and [t["title"] for t in snapshot.json()["tasks"]] == ["On our board"]
    assert [t["title"] for t in tasks.json()["items"]] == ["On our board"]
    assert [m["content"] for m in memory.json()["items"]] == ["Deploy freeze on Friday."]
    assert activity.status_code == 200 and "Not ours" not in {e["message"] for e in activity.json()["items"]}
    outside = [api.get(f"/api/v1/boards/{other_board.id}/{what}") for what in ("snapshot", "tasks", "memory")]
    outside.append(api.get("/api/v1/activity", {"board_id": str(other_board.id)}))
    for response in outside:
        assert response.status_code == 403 and response.json()["detail"]["code"] == "board_out_of_reach"
    write = api.post(f"/api/v1/boards/{board.id}/tasks", {"title": "Not for agents"}, format="json")
    assert write.status_code == 403


def test_row_main_agent_reads_and_writes_board_memory_of_its_organization(board, lead, main_agent, org, gateway,
                                                                          other_board):
    second = make_board(org, "Second board", gateway=gateway)
    make_agent("Second lead", board=second, lead=True)
    agent_client(mint_token(lead)).post(board_url(board, "/memory"),
                                        {"content": "Need the staging password rotated.",
                                         "tags": ["gateway_main", "lead_reply"], "source": "lead_to_gateway_main"},
                                        format="json")
    main = agent_client(mint_token(main_agent))

    replies = main.get(board_url(board, "/memory"), {"is_chat": "false", "limit": 50})
    answer = main.post(board_url(board, "/memory"),
                       {"content": "The user rotated it; the new one is in the vault.",
                        "tags": ["gateway_main", "user_reply"], "source": "user_via_gateway_main"}, format="json")
    on_second = main.post(board_url(second, "/memory"), {"content": "Hello second board."}, format="json")
    foreign_read = main.get(board_url(other_board, "/memory"))
    foreign_write = main.post(board_url(other_board, "/memory"), {"content": "Hi"}, format="json")

    assert replies.status_code == 200
    assert [m["tags"] for m in replies.json()["items"]] == [["gateway_main", "lead_reply"]]
    assert answer.status_code == 201 and answer.json()["source"] == "user_via_gateway_main"
    assert on_second.status_code == 201
    for response in (foreign_read, foreign_write):
        assert response.status_code == 403 and response.json()["detail"]["code"] == "board_out_of_reach"
    assert not BoardMemory.objects.filter(board=other_board).exists()


def test_row_twenty_agents_behind_one_gateway_address_see_no_429(settings, board, lead):
    from missioncontrol import settings as product

    # The product's own limits, not the generous ones the other agent tests run with.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "agent_auth": product.RATE_LIMITS["agent_auth"],
                            "agent_requests": product.RATE_LIMITS["agent_requests"]}
    agents = [lead, *(make_agent(f"Worker {n}", board=board) for n in range(19))]
    gateway_ip = "198.51.100.200"
    clients = [agent_client(mint_token(agent), ip=gateway_ip) for agent in agents]
    burst = [("post", f"{API}/heartbeat"), ("get", f"{API}/healthz"), ("get", board_url(board)),
             ("get", board_url(board, "/memory?limit=20")), ("get", board_url(board, "/tasks?status=inbox")),
             ("get", board_url(board, "/tasks?status=in_progress,review")), ("get", board_url(board, "/approvals")),
             ("get", board_url(board, "/tags")), ("get", f"{API}/agents"), ("get", f"/api/v1/boards/{board.id}/tasks")]
    statuses = [getattr(client, method)(path).status_code for client in clients for method, path in burst]

    assert len(statuses) == 200
    assert [code for code in statuses if code != 200] == []
    assert Agent.objects.filter(board=board, last_seen_at__isnull=False).count() == 20
