"""The routes agents use to coordinate, through HTTP with real tokens: a lead nudges,
reads and rewrites a worker's SOUL.md, retires a worker and asks the people; the main
agent asks or hands off to a board's lead (creating it) and broadcasts to every lead. The
messages they queue are answered with the call they name, by their recipient."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agents.gateway import pool
from agents.models import ActivityEvent, Agent, AgentMessage, BoardMemory, GatewayCleanup
from tests.agents.answers import answer_all, kinds, last_id, told
from tests.conftest import make_agent, make_board
from tests.gateway.fake_gateway import FakeGateway
from tests.gateway.on_fake import set_up

pytestmark = pytest.mark.django_db

API = "/api/v1/agent"


@pytest.fixture
def lifted_rate_limits() -> tuple[str, ...]:
    return ("agent_auth", "agent_requests")


def url(board, rest: str = "") -> str:
    return f"{API}/boards/{board.pk}{rest}"


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["detail"]["code"] == code, response.content


# --- a lead and its workers -------------------------------------------------------------------


def test_a_lead_nudges_a_worker_and_the_worker_can_do_what_it_is_told(board, lead, worker, as_agent):
    response = as_agent(lead).post(url(board, f"/agents/{worker.pk}/nudge"), {"message": "Your PR needs a rebase."},
                                   format="json")
    assert response.status_code == 202, response.content
    message = AgentMessage.objects.get(pk=response.json()["message_id"])
    assert message.agent_id == worker.pk and "Your PR needs a rebase." in message.text
    assert ActivityEvent.objects.filter(event_type="agent.nudged", agent_id=worker.pk).exists()
    assert answer_all(as_agent, 0, {}) == ["nudge"]


def test_nudge_refusals_say_why(board, lead, worker, other_board, foreign_agent, as_agent):
    refused(as_agent(worker).post(url(board, f"/agents/{lead.pk}/nudge"), {"message": "Hi"}, format="json"),
            403, "agent_role_not_allowed")
    refused(as_agent(lead).post(url(board, f"/agents/{foreign_agent.pk}/nudge"), {"message": "Hi"},
                                format="json"), 404, "agent_not_found")
    blank = as_agent(lead).post(url(board, f"/agents/{worker.pk}/nudge"), {"message": "  "}, format="json")
    assert blank.status_code == 422 and list(blank.json()["detail"]) == ["message"]
    refused(as_agent(lead).post(url(board, f"/agents/{lead.pk}/nudge"), {"message": "Me"}, format="json"),
            422, "cannot_nudge_yourself")
    worker.gateway = None
    worker.save()
    refused(as_agent(lead).post(url(board, f"/agents/{worker.pk}/nudge"), {"message": "Hi"}, format="json"),
            409, "agent_not_on_gateway")


def test_retiring_a_worker_removes_it_here_and_schedules_its_removal_on_the_gateway(board, lead, worker, as_agent):
    worker.gateway_agent_id = f"mc-{worker.pk}"
    worker.provisioned_at = worker.created_at
    worker.save()
    response = as_agent(lead).delete(url(board, f"/agents/{worker.pk}"))
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert not Agent.objects.filter(pk=worker.pk).exists()
    assert GatewayCleanup.objects.filter(gateway_agent_id=f"mc-{worker.pk}").exists()
    assert ActivityEvent.objects.filter(event_type="agent.retired").count() == 1
    # Twice is not an error; a lead cannot retire a lead.
    assert as_agent(lead).delete(url(board, f"/agents/{worker.pk}")).status_code == 200
    refused(as_agent(lead).delete(url(board, f"/agents/{lead.pk}")), 403, "cannot_retire_lead")


def test_the_lead_asks_the_people_through_the_main_agent_whose_answer_call_works(
        board, lead, main_agent, as_agent):
    response = as_agent(lead).post(url(board, "/gateway/main/ask-user"),
                                   {"content": "May we delete the old bucket?", "correlation_id": "q-7",
                                    "preferred_channel": "slack"}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["main_agent_id"] == str(main_agent.pk) and body["main_agent_name"] == "Main"
    [message] = told()["Main"]
    assert "May we delete the old bucket?" in message.text and "q-7" in message.text and "slack" in message.text
    assert answer_all(as_agent, 0, {"<the answer>": "Yes, delete it."}) == ["ask_user"]
    main_agent.delete()
    refused(as_agent(lead).post(url(board, "/gateway/main/ask-user"), {"content": "Anyone?"}, format="json"),
            409, "no_main_agent")


# --- SOUL.md, on a real connection to the fake gateway ---------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeGateway]:
    with FakeGateway() as gateway:
        yield gateway
    pool.close_all()


@pytest.fixture
def provisioned_worker(gateway, fake, board, worker) -> Agent:
    set_up(worker, gateway, fake)
    return worker


def test_a_lead_reads_and_rewrites_a_workers_soul_on_its_gateway(provisioned_worker, fake, board, lead, as_agent):
    worker = provisioned_worker
    fake.write_file(worker.gateway_agent_id, "SOUL.md", "# Soul\nEdited by the agent itself.\n")
    read = as_agent(lead).get(url(board, f"/agents/{worker.pk}/soul"))
    assert read.status_code == 200 and read.json() == "# Soul\nEdited by the agent itself.\n"
    # The worker reads its own; another worker may not.
    assert as_agent(worker).get(url(board, f"/agents/{worker.pk}/soul")).status_code == 200
    colleague = make_agent("Colleague", board=board)
    refused(as_agent(colleague).get(url(board, f"/agents/{worker.pk}/soul")), 403, "lead_or_self_required")

    new = "# Soul\nReview every diff twice.\n"
    written = as_agent(lead).put(url(board, f"/agents/{worker.pk}/soul"),
                                 {"content": new, "reason": "Too many regressions"}, format="json")
    assert written.status_code == 200, written.content
    assert fake.file_content(worker.gateway_agent_id, "SOUL.md") == new
    worker.refresh_from_db()
    assert worker.soul_template == new
    event = ActivityEvent.objects.get(event_type="agent.soul_updated")
    assert "Too many regressions" in event.message
    refused(as_agent(worker).put(url(board, f"/agents/{worker.pk}/soul"), {"content": "mine"}, format="json"),
            403, "agent_role_not_allowed")


def test_a_gateway_that_fails_the_soul_write_is_a_502_in_words_and_nothing_changes(
        provisioned_worker, fake, board, lead, as_agent, gateway):
    worker = provisioned_worker
    before = worker.soul_template
    fake.stop()
    pool.close_all()
    response = as_agent(lead).put(url(board, f"/agents/{worker.pk}/soul"), {"content": "# New"}, format="json")
    refused(response, 502, "gateway_error")
    assert worker.name in response.json()["detail"]["message"]
    worker.refresh_from_db()
    assert worker.soul_template == before
    assert not ActivityEvent.objects.filter(event_type="agent.soul_updated").exists()


def test_an_agent_not_yet_on_its_gateway_shows_the_soul_mission_control_will_write(board, lead, worker, as_agent):
    worker.soul_template = "# Soul\nPlanned text.\n"
    worker.save()
    read = as_agent(lead).get(url(board, f"/agents/{worker.pk}/soul"))
    assert read.status_code == 200 and "Planned text." in read.json()


# --- the main agent and the leads --------------------------------------------------------------


def test_the_main_agent_asks_a_lead_and_the_lead_answers_in_memory_where_main_reads_it(
        board, lead, main_agent, as_agent):
    response = as_agent(main_agent).post(f"{API}/gateway/boards/{board.pk}/lead/message",
                                         {"kind": "question", "correlation_id": "c-1",
                                          "content": "What is blocking the launch?"}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["lead_agent_id"] == str(lead.pk) and response.json()["lead_created"] is False
    assert kinds() == {"Lead": ["main_question"]}
    assert answer_all(as_agent, 0, {"<your answer>": "The DNS change."}) == ["main_question"]
    # Run for real this time: the note is where the main agent reads.
    [message] = told()["Lead"]
    as_agent(lead).post(url(board, "/memory"), {"content": "The DNS change.", "tags": ["gateway_main", "lead_reply"],
                                                "source": "lead_to_gateway_main"}, format="json")
    notes = as_agent(main_agent).get(url(board, "/memory")).json()["items"]
    assert any(note["content"] == "The DNS change." for note in notes)
    assert message.kind == "main_question"


def test_a_board_without_a_lead_gets_one_for_the_hand_off(board, main_agent, as_agent):
    response = as_agent(main_agent).post(f"{API}/gateway/boards/{board.pk}/lead/message",
                                         {"kind": "handoff", "content": "Please own the release notes."},
                                         format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["lead_created"] is True and body["lead_agent_name"] == "Lead Agent"
    lead = Agent.objects.get(pk=body["lead_agent_id"])
    assert lead.is_board_lead and lead.board_id == board.pk and lead.gateway_id == board.gateway_id
    assert kinds() == {"Lead Agent": ["main_handoff"]}
    gossip = as_agent(main_agent).post(f"{API}/gateway/boards/{board.pk}/lead/message",
                                       {"kind": "gossip", "content": "x"}, format="json")
    assert gossip.status_code == 422 and list(gossip.json()["detail"]) == ["kind"]
    refused(as_agent(lead).post(f"{API}/gateway/boards/{board.pk}/lead/message", {"content": "x"}, format="json"),
            403, "agent_role_not_allowed")


def test_a_broadcast_reaches_every_lead_of_the_organization_and_reports_each_board(
        org, gateway, board, lead, main_agent, other_board, as_agent):
    second = make_board(org, "Docs", gateway=gateway)
    since = last_id()
    response = as_agent(main_agent).post(f"{API}/gateway/leads/broadcast",
                                         {"kind": "question", "content": "Status for the weekly report?"},
                                         format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["ok"] is True and body["sent"] == 2 and body["failed"] == 0
    assert {result["board_id"] for result in body["results"]} == {str(board.pk), str(second.pk)}
    assert str(other_board.pk) not in {result["board_id"] for result in body["results"]}
    assert sorted(kinds(since)) == ["Lead", "Lead Agent"]
    # Only some boards; a lead that cannot be reached is a failed result, not an error.
    lead.gateway = None
    lead.save()
    response = as_agent(main_agent).post(f"{API}/gateway/leads/broadcast",
                                         {"content": "Freeze at 5pm.", "board_ids": [str(board.pk)]}, format="json")
    body = response.json()
    assert response.status_code == 202 and body["sent"] == 0 and body["failed"] == 1
    assert "not on a gateway" in body["results"][0]["error"]
    assert BoardMemory.objects.count() == 0
