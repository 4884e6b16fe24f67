"""Board groups through the HTTP APIs: people's group routes, a board joining a group, and
the group memory and group snapshot a board's agents read on the earlier server's paths."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import BoardGroup, BoardGroupMemory, Tag, Task
from tests.agents.api_helpers import assert_refused
from tests.conftest import make_agent, make_board, make_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def lifted_rate_limits() -> tuple[str, ...]:
    return ("agent_auth", "agent_requests")


@pytest.fixture
def owner_api(client_for, owner):
    return client_for(owner)


@pytest.fixture
def group(org) -> BoardGroup:
    return BoardGroup.objects.create(organization=org, name="Web", slug="web", description="Site and API")


@pytest.fixture
def grouped(board, group):
    board.group = group
    board.save()
    return board


def test_an_admin_creates_a_group_and_members_see_it(owner_api, client_for, member, org):
    response = owner_api.post("/api/v1/board-groups", {"name": "Web platform", "heartbeat_every": "15m"},
                              format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "organization_id", "name", "slug", "description", "heartbeat_every",
                         "heartbeat_include_leads", "created_at", "updated_at"}
    assert (body["slug"], body["heartbeat_every"], body["organization_id"]) == ("web-platform", "15m", str(org.pk))
    listing = client_for(member).get("/api/v1/board-groups").json()
    assert [item["id"] for item in listing["items"]] == [body["id"]] and listing["total"] == 1


def test_a_group_body_with_an_unknown_key_or_a_bad_interval_is_422(owner_api, group):
    assert_refused(owner_api.post("/api/v1/board-groups", {"name": "X", "colour": "red"}, format="json"), 422)
    response = owner_api.patch(f"/api/v1/board-groups/{group.pk}", {"heartbeat_every": "soon"}, format="json")
    body = assert_refused(response, 422, "invalid_heartbeat_every")
    assert body["detail"]["heartbeat_every"]


def test_a_board_joins_and_leaves_a_group_through_its_board_group_id(owner_api, board, group):
    response = owner_api.patch(f"/api/v1/boards/{board.pk}", {"board_group_id": str(group.pk)}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["board_group_id"] == str(group.pk)

    response = owner_api.patch(f"/api/v1/boards/{board.pk}", {"board_group_id": None}, format="json")
    assert response.json()["board_group_id"] is None


def test_the_board_list_filters_by_group(owner_api, org, grouped, group):
    make_board(org, "Elsewhere")
    listing = owner_api.get(f"/api/v1/boards?board_group_id={group.pk}").json()
    assert [item["id"] for item in listing["items"]] == [str(grouped.pk)]
    assert_refused(owner_api.get("/api/v1/boards?board_group_id=web"), 422)


def test_a_board_cannot_join_another_organizations_group(owner_api, board, other_org):
    theirs = BoardGroup.objects.create(organization=other_org, name="Theirs", slug="theirs")
    response = owner_api.patch(f"/api/v1/boards/{board.pk}", {"board_group_id": str(theirs.pk)}, format="json")
    assert_refused(response, 422, "board_group_not_in_organization")


def test_deleting_a_group_is_204_and_its_board_stays(owner_api, grouped, group):
    assert owner_api.delete(f"/api/v1/board-groups/{group.pk}").status_code == 204
    assert owner_api.get(f"/api/v1/boards/{grouped.pk}").json()["board_group_id"] is None


def test_people_write_and_read_a_groups_memory_newest_first(owner_api, group):
    for content, tags in (("First note", []), ("Chat line", ["chat"])):
        response = owner_api.post(f"/api/v1/board-groups/{group.pk}/memory", {"content": content, "tags": tags},
                                  format="json")
        assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "board_group_id", "board_id", "content", "tags", "is_chat", "source", "created_at"}
    assert (body["board_group_id"], body["board_id"], body["is_chat"]) == (str(group.pk), None, True)

    page = owner_api.get(f"/api/v1/board-groups/{group.pk}/memory").json()
    assert [item["content"] for item in page["items"]] == ["Chat line", "First note"]
    chat = owner_api.get(f"/api/v1/board-groups/{group.pk}/memory?is_chat=true").json()
    assert [item["content"] for item in chat["items"]] == ["Chat line"]


def test_the_people_route_refuses_unknown_keys_in_a_memory_body(owner_api, group):
    response = owner_api.post(f"/api/v1/board-groups/{group.pk}/memory", {"content": "x", "mood": "happy"},
                              format="json")
    assert_refused(response, 422)


def test_the_heartbeat_call_answers_as_the_earlier_server_did(owner_api, grouped, group, lead, worker):
    response = owner_api.post(f"/api/v1/board-groups/{group.pk}/heartbeat", {"every": "2m"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json() == {"board_group_id": str(group.pk), "requested": {"every": "2m",
                                                                              "include_board_leads": False},
                               "updated_agent_ids": [str(worker.pk)], "failed_agent_ids": []}
    assert owner_api.get(f"/api/v1/agents/{worker.pk}").json()["heartbeat_config"] == {"every": "2m"}
    assert_refused(owner_api.post(f"/api/v1/board-groups/{group.pk}/heartbeat", {"every": "2 minutes"},
                                  format="json"), 422, "invalid_heartbeat_every")


# --- what a board's agents read -----------------------------------------------------------------


def test_an_ungrouped_board_answers_an_empty_page_and_an_empty_snapshot_not_404(board, worker, as_agent):
    client = as_agent(worker)

    memory = client.get(f"/api/v1/boards/{board.pk}/group-memory")
    snapshot = client.get(f"/api/v1/boards/{board.pk}/group-snapshot")

    assert memory.status_code == 200 and memory.json() == {"items": [], "total": 0, "limit": 200, "offset": 0}
    assert snapshot.status_code == 200 and snapshot.json() == {"group": None, "boards": []}
    response = client.post(f"/api/v1/boards/{board.pk}/group-memory", {"content": "Hello?"}, format="json")
    assert_refused(response, 409, "board_not_in_group")


def test_a_worker_writes_group_chat_from_its_board_and_sees_the_groups_memory(grouped, group, worker, as_agent):
    BoardGroupMemory.objects.create(group=group, content="From another board",
                                    created_at=timezone.now() - timedelta(minutes=5))
    client = as_agent(worker)

    # Read as agents' bodies are: an unknown key is ignored, a null means not given.
    response = client.post(f"/api/v1/boards/{grouped.pk}/group-memory",
                           {"content": "We ship v2 on Friday", "tags": ["chat"], "source": None, "mood": "calm"},
                           format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["board_id"], body["board_group_id"], body["is_chat"], body["source"]) == (
        str(grouped.pk), str(group.pk), True, "")
    page = client.get(f"/api/v1/boards/{grouped.pk}/group-memory?limit=1").json()
    assert (page["total"], [item["content"] for item in page["items"]]) == (2, ["We ship v2 on Friday"])
    assert_refused(client.post(f"/api/v1/boards/{grouped.pk}/group-memory", {"content": " "}, format="json"), 422)


def test_the_group_snapshot_shows_the_other_boards_with_their_most_pressing_tasks(
        org, gateway, grouped, group, worker, as_agent):
    docs = make_board(org, "Docs", gateway=gateway, group=group)
    api = make_board(org, "API", gateway=gateway, group=group)
    make_board(org, "Ungrouped", gateway=gateway)
    writer = make_agent("Writer", board=docs)
    tag = Tag.objects.create(organization=org, name="Launch", slug="launch", color="ff0000")
    now = timezone.now()
    make_task(docs, "Inbox low", priority=Task.Priority.LOW, updated_at=now)
    make_task(docs, "Inbox urgent", priority=Task.Priority.URGENT, updated_at=now - timedelta(hours=1))
    started = make_task(docs, "Being written", status=Task.Status.IN_PROGRESS, assigned_agent=writer)
    started.tags.add(tag)
    make_task(docs, "Finished", status=Task.Status.DONE)
    make_task(grouped, "Our own task")

    body = as_agent(worker).get(f"/api/v1/boards/{grouped.pk}/group-snapshot?per_board_task_limit=3").json()

    assert body["group"]["id"] == str(group.pk)
    assert [item["board"]["name"] for item in body["boards"]] == ["API", "Docs"]
    assert body["boards"][0] == {"board": body["boards"][0]["board"], "task_counts": {
        "inbox": 0, "in_progress": 0, "review": 0, "done": 0}, "tasks": []}
    docs_part = body["boards"][1]
    assert docs_part["board"]["board_group_id"] == str(group.pk) and str(api.pk) == body["boards"][0]["board"]["id"]
    assert docs_part["task_counts"] == {"inbox": 2, "in_progress": 1, "review": 0, "done": 1}
    assert [task["title"] for task in docs_part["tasks"]] == ["Being written", "Inbox urgent", "Inbox low"]
    first = docs_part["tasks"][0]
    assert (first["board_name"], first["assignee"], first["assigned_agent_id"]) == ("Docs", "Writer", str(writer.pk))
    assert first["tags"] == [{"id": str(tag.pk), "name": "Launch", "slug": "launch", "color": "ff0000"}]
    assert set(first) == {"id", "board_id", "board_name", "title", "status", "priority", "assigned_agent_id",
                          "assignee", "due_at", "in_progress_at", "tags", "created_at", "updated_at"}

    with_self = as_agent(worker).get(
        f"/api/v1/boards/{grouped.pk}/group-snapshot?include_self=true&include_done=true").json()
    assert [item["board"]["name"] for item in with_self["boards"]] == ["API", "Docs", "Launch"]
    assert "Finished" in [task["title"] for task in with_self["boards"][1]["tasks"]]
    none = as_agent(worker).get(f"/api/v1/boards/{grouped.pk}/group-snapshot?per_board_task_limit=0").json()
    assert all(item["tasks"] == [] for item in none["boards"]) and none["boards"][1]["task_counts"]["inbox"] == 2


@pytest.mark.parametrize("value", ["-1", "101", "five", "²"])
def test_a_bad_per_board_task_limit_is_422(grouped, worker, as_agent, value):
    response = as_agent(worker).get(f"/api/v1/boards/{grouped.pk}/group-snapshot?per_board_task_limit={value}")
    body = assert_refused(response, 422)
    assert "per_board_task_limit" in body["detail"]


def test_people_read_a_groups_snapshot_with_every_board(owner_api, grouped, group):
    make_task(grouped, "Ours")
    body = owner_api.get(f"/api/v1/board-groups/{group.pk}/snapshot").json()
    assert [item["board"]["id"] for item in body["boards"]] == [str(grouped.pk)]
    assert [task["title"] for task in body["boards"][0]["tasks"]] == ["Ours"]


def test_the_main_agent_is_refused_on_a_boards_group_routes(grouped, main_agent, as_agent):
    for response in (as_agent(main_agent).get(f"/api/v1/boards/{grouped.pk}/group-memory"),
                     as_agent(main_agent).get(f"/api/v1/boards/{grouped.pk}/group-snapshot")):
        assert_refused(response, 403, "agent_role_not_allowed")


def test_a_board_agent_cannot_read_the_group_of_a_sibling_board(org, gateway, group, worker, as_agent):
    sibling = make_board(org, "Sibling", gateway=gateway, group=group)
    response = as_agent(worker).get(f"/api/v1/boards/{sibling.pk}/group-memory")
    assert_refused(response, 403, "board_out_of_reach")


def test_a_bad_is_chat_is_422_on_an_ungrouped_board_too(board, worker, as_agent):
    response = as_agent(worker).get(f"/api/v1/boards/{board.pk}/group-memory?is_chat=maybe")
    assert_refused(response, 422)
