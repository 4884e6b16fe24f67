"""The reads of the user API an agent's token opens too: a board's snapshot, tasks and
memory, and the activity log, each within the agent's reach; writes stay for people."""

from __future__ import annotations

import pytest

from agents import activity
from agents.authentication import ClerkJWTAuthentication, SessionAuthentication
from agents.tokens import mint_token
from missioncontrol.api.views import PersonView
from tests.agents.agent_client import HEADER_FORMS, agent_client
from tests.agents.api_helpers import assert_refused
from tests.conftest import make_board, make_task

pytestmark = pytest.mark.django_db

BOARD_READS = ("snapshot", "tasks", "memory")


def board_read(board, what: str) -> str:
    return f"/api/v1/boards/{board.id}/{what}"


@pytest.mark.parametrize("form", HEADER_FORMS)
@pytest.mark.parametrize("caller", ["lead", "worker", "main_agent"])
@pytest.mark.parametrize("what", BOARD_READS)
def test_board_and_main_agents_read_a_board_they_reach(request, board, what, caller, form):
    make_task(board, "Visible")
    client = agent_client(mint_token(request.getfixturevalue(caller)), form)

    response = client.get(board_read(board, what))

    assert response.status_code == 200, response.content
    body = response.json()
    if what == "snapshot":
        assert body["board"]["id"] == str(board.id) and [t["title"] for t in body["tasks"]] == ["Visible"]
    elif what == "tasks":
        assert [item["title"] for item in body["items"]] == ["Visible"]
    else:
        assert body["items"] == []


@pytest.mark.parametrize("what", BOARD_READS)
def test_a_board_agent_cannot_read_another_board_of_its_organization(worker, org, gateway, what):
    sibling = make_board(org, "Sibling", gateway=gateway)

    assert_refused(agent_client(mint_token(worker)).get(board_read(sibling, what)), 403, "board_out_of_reach")


@pytest.mark.parametrize("what", BOARD_READS)
def test_the_main_agent_cannot_read_another_organizations_board(main_agent, other_board, what):
    assert_refused(agent_client(mint_token(main_agent)).get(board_read(other_board, what)), 403,
                   "board_out_of_reach")


def test_an_unknown_board_is_404_for_an_agent(lead):
    response = agent_client(mint_token(lead)).get("/api/v1/boards/00000000-0000-0000-0000-000000000000/tasks")

    assert_refused(response, 404, "board_not_found")


def test_the_task_filters_work_for_agents_as_for_people(board, worker):
    make_task(board, "Mine", status="in_progress", assigned_agent=worker)
    make_task(board, "Open")

    response = agent_client(mint_token(worker)).get(board_read(board, "tasks"), {"status": "inbox"})

    assert [item["title"] for item in response.json()["items"]] == ["Open"]


@pytest.mark.parametrize("form", HEADER_FORMS)
def test_writes_on_these_paths_stay_for_people(board, lead, form):
    client = agent_client(mint_token(lead), form)

    for path, body in ((board_read(board, "tasks"), {"title": "Sneaky"}),
                       (board_read(board, "memory"), {"content": "Sneaky"})):
        assert_refused(client.post(path, body, format="json"), 403, "people_only")
    assert not board.tasks.exists() and not board.memory.exists()


# --- the activity log ----------------------------------------------------------------------------


@pytest.fixture
def events(board, other_board, org, gateway):
    sibling = make_board(org, "Sibling", gateway=gateway)
    for where, message in ((board, "on the board"), (sibling, "on the sibling"), (other_board, "elsewhere")):
        activity.record("board.note", actor=None, board=where, organization=where.organization_id, message=message)
    activity.record("gateway.updated", actor=None, organization=org.pk, message="on the organization")
    return sibling


def messages(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {item["message"] for item in response.json()["items"]}


def test_a_board_agent_reads_the_activity_of_its_board_only(worker, events):
    assert messages(agent_client(mint_token(worker)).get("/api/v1/activity")) == {"on the board"}


def test_the_main_agent_reads_the_activity_of_its_organization(main_agent, events):
    assert messages(agent_client(mint_token(main_agent)).get("/api/v1/activity")) == {
        "on the board", "on the sibling", "on the organization"}


def test_activity_filtered_by_a_board_out_of_reach_is_403(worker, main_agent, events, other_board, board):
    sibling = events
    assert_refused(agent_client(mint_token(worker)).get("/api/v1/activity", {"board_id": str(sibling.id)}),
                   403, "board_out_of_reach")
    assert_refused(agent_client(mint_token(main_agent)).get("/api/v1/activity", {"board_id": str(other_board.id)}),
                   403, "board_out_of_reach")
    within = agent_client(mint_token(main_agent)).get("/api/v1/activity", {"board_id": str(sibling.id)})
    assert messages(within) == {"on the sibling"}
    own = agent_client(mint_token(worker)).get("/api/v1/activity", {"board_id": str(board.id)})
    assert messages(own) == {"on the board"}


def test_people_still_read_the_activity_of_their_organizations(client_for, member, events):
    assert messages(client_for(member).get("/api/v1/activity")) == {"on the board", "on the sibling",
                                                                    "on the organization"}


# --- the authentication classes ---------------------------------------------------------------------


def test_a_wrong_agent_token_is_401_here_too(board):
    for form in HEADER_FORMS:
        response = agent_client("mc_0123456789abcdef_" + "x" * 43, form).get(board_read(board, "tasks"))
        assert_refused(response, 401)


def test_the_operator_token_still_reads_these_routes(api_client, settings, board):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.LOCAL_AUTH_TOKEN}")

    assert api_client.get(board_read(board, "tasks")).status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-the-operator-token")
    assert_refused(api_client.get(board_read(board, "tasks")), 401)


def test_in_clerk_mode_an_agent_bearer_token_is_left_to_the_agent_class(monkeypatch, settings, board, lead):
    settings.AUTH_MODE = "clerk"
    monkeypatch.setattr(PersonView, "authentication_classes", [ClerkJWTAuthentication, SessionAuthentication])

    response = agent_client(mint_token(lead), "bearer").get(board_read(board, "tasks"))

    assert response.status_code == 200, response.content
