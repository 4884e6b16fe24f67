"""Agent routes accept what real agents send: extra keys, null for optional fields, a blank
comment, a decimal confidence, their own board_id. The user API stays strict."""

from __future__ import annotations

import pytest

from agents.models import Approval, BoardMemory, Task, TaskComment
from agents.tokens import mint_token
from tests.agents.agent_client import agent_client
from tests.agents.api_helpers import assert_refused
from tests.conftest import make_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_api(lead):
    return agent_client(mint_token(lead))


@pytest.fixture
def worker_api(worker):
    return agent_client(mint_token(worker))


def tasks_url(board, task=None):
    base = f"/api/v1/agent/boards/{board.id}/tasks"
    return f"{base}/{task.id}" if task else base


def approvals_url(board):
    return f"/api/v1/agent/boards/{board.id}/approvals"


# --- unknown keys ------------------------------------------------------------------------------


def test_unknown_keys_are_ignored_on_every_agent_write(board, worker, lead_api, worker_api):
    created = lead_api.post(tasks_url(board), {"title": "Extra", "custom_field_values": {}, "foo": 1},
                            format="json")
    task = Task.objects.get(pk=created.json()["id"])
    updated = lead_api.patch(tasks_url(board, task), {"title": "Extra 2", "foo": 1}, format="json")
    commented = lead_api.post(f"{tasks_url(board, task)}/comments", {"message": "Hi", "task_id": "x"},
                              format="json")
    memory = worker_api.post(f"/api/v1/agent/boards/{board.id}/memory", {"content": "Note", "author": "me"},
                             format="json")
    approval = worker_api.post(approvals_url(board), {"action_type": "x", "confidence": 50, "lead_reasoning": "r",
                                                      "agent_id": str(worker.id)}, format="json")

    assert [r.status_code for r in (created, updated, commented, memory, approval)] == [201, 200, 201, 201, 201]
    assert Task.objects.get(pk=task.pk).title == "Extra 2"


def test_the_user_api_still_refuses_unknown_keys(client_for, admin_user, board):
    response = client_for(admin_user).post(f"/api/v1/boards/{board.id}/tasks", {"title": "x", "foo": 1},
                                           format="json")

    assert response.status_code == 422
    assert "foo" in response.json()["detail"]
    assert not Task.objects.exists()


# --- null and blank ----------------------------------------------------------------------------


def test_a_lead_may_send_null_for_optional_task_fields(board, lead_api):
    response = lead_api.post(tasks_url(board), {
        "title": "Nulls", "description": None, "due_at": None, "assigned_agent_id": None, "priority": None,
        "depends_on_task_ids": None, "tag_ids": None}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["description"], body["due_at"], body["priority"]) == ("", None, "medium")


def test_a_null_description_on_update_empties_it(board, lead_api):
    task = make_task(board, description="Old words")

    response = lead_api.patch(tasks_url(board, task), {"description": None}, format="json")

    assert response.status_code == 200
    assert Task.objects.get(pk=task.pk).description == ""


@pytest.mark.parametrize("comment", [None, "", "   "])
def test_a_null_or_blank_comment_is_no_comment(board, worker, worker_api, comment):
    task = make_task(board)

    response = worker_api.patch(tasks_url(board, task), {"status": "in_progress", "comment": comment},
                                format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "in_progress"
    assert not TaskComment.objects.exists()


def test_an_explicit_null_status_is_still_422(board, worker_api):
    task = make_task(board)

    response = worker_api.patch(tasks_url(board, task), {"status": None}, format="json")

    assert response.status_code == 422
    assert "status" in str(response.json()["detail"])


def test_null_approval_payload_scores_and_reasoning_count_as_not_given(board, worker_api):
    response = worker_api.post(approvals_url(board), {
        "action_type": "deploy", "confidence": 70, "payload": None, "rubric_scores": None,
        "lead_reasoning": "Low risk.", "task_ids": None}, format="json")
    only_payload_reason = worker_api.post(approvals_url(board), {
        "action_type": "deploy", "confidence": 70, "lead_reasoning": None, "payload": {"reason": "Asked for."}},
        format="json")

    assert response.status_code == only_payload_reason.status_code == 201
    assert response.json()["payload"] == {"reason": "Low risk."} and response.json()["rubric_scores"] == {}
    assert only_payload_reason.json()["lead_reasoning"] == ""


def test_null_memory_tags_and_source_are_empty(board, worker_api):
    response = worker_api.post(f"/api/v1/agent/boards/{board.id}/memory",
                               {"content": "A note", "tags": None, "source": None}, format="json")

    assert response.status_code == 201
    memory = BoardMemory.objects.get()
    assert (memory.tags, memory.source, memory.is_chat) == ([], "", False)


def test_null_required_fields_are_still_422(board, worker_api, lead_api):
    no_title = lead_api.post(tasks_url(board), {"title": None}, format="json")
    no_content = worker_api.post(f"/api/v1/agent/boards/{board.id}/memory", {"content": None}, format="json")
    no_confidence = worker_api.post(approvals_url(board), {"action_type": "x", "confidence": None,
                                                           "lead_reasoning": "r"}, format="json")

    assert no_title.status_code == no_content.status_code == no_confidence.status_code == 422
    assert "title" in no_title.json()["detail"]
    assert "content" in no_content.json()["detail"]
    assert "confidence" in no_confidence.json()["detail"]


# --- confidence --------------------------------------------------------------------------------


@pytest.mark.parametrize(("sent", "stored"), [(85.5, 86), (84.5, 85), (85.4, 85), (0.2, 0), (100.0, 100), (42, 42)])
def test_confidence_takes_decimals_and_is_stored_rounded(board, worker_api, sent, stored):
    response = worker_api.post(approvals_url(board), {"action_type": "x", "confidence": sent, "lead_reasoning": "r"},
                               format="json")

    assert response.status_code == 201
    assert response.json()["confidence"] == stored
    assert Approval.objects.get().confidence == stored


@pytest.mark.parametrize("sent", [100.5, -0.1, "high", True, "NaN"])
def test_confidence_outside_0_to_100_is_422(board, worker_api, sent):
    response = worker_api.post(approvals_url(board), {"action_type": "x", "confidence": sent, "lead_reasoning": "r"},
                               format="json")

    assert response.status_code == 422
    assert "confidence" in response.json()["detail"]
    assert not Approval.objects.exists()


# --- board_id on a new worker --------------------------------------------------------------------


def test_a_lead_may_name_its_own_board_when_adding_a_worker(board, lead_api):
    response = lead_api.post("/api/v1/agent/agents", {"name": "Scout", "board_id": str(board.id),
                                                      "status": "online", "heartbeat_config": {"every": "10m"}},
                             format="json")

    assert response.status_code == 201
    assert response.json()["board_id"] == str(board.id)


def test_a_lead_naming_another_board_is_403(other_board, lead_api):
    assert_refused(lead_api.post("/api/v1/agent/agents", {"name": "Scout", "board_id": str(other_board.id)},
                                 format="json"), 403, "board_out_of_reach")


def test_a_malformed_board_id_on_a_new_worker_is_422(lead_api):
    assert_refused(lead_api.post("/api/v1/agent/agents", {"name": "Scout", "board_id": "junk"}, format="json"),
                   422, "invalid_board_id")


# --- priority words -------------------------------------------------------------------------


@pytest.mark.parametrize(("sent", "stored"), [
    ("critical", "urgent"), ("Blocker", "urgent"), ("P0", "urgent"), ("highest", "urgent"), ("URGENT", "urgent"),
    ("important", "high"), ("p1", "high"), ("high", "high"),
    ("normal", "medium"), ("default", "medium"), ("P2", "medium"), (" medium ", "medium"),
    ("minor", "low"), ("Trivial", "low"), ("lowest", "low"), ("p3", "low"), ("low", "low"),
    ("whenever you can", "medium"), ("", "medium"), ("🔥", "medium"),
])
def test_the_priority_word_is_read_as_one_of_the_four(sent, stored):
    from agents.rules import priority_from_word

    assert priority_from_word(sent) == stored


def test_a_lead_creating_a_task_as_critical_gets_urgent_and_the_event_keeps_the_word(board, lead_api):
    from agents.models import ActivityEvent

    response = lead_api.post(tasks_url(board), {"title": "Fix the outage", "priority": "critical"}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["priority"] == "urgent"
    event = ActivityEvent.objects.get(event_type="task.created")
    assert event.data["priority_sent"] == "critical"


def test_an_unknown_priority_word_is_medium_and_is_recorded(board, lead_api):
    from agents.models import ActivityEvent

    response = lead_api.post(tasks_url(board), {"title": "Someday", "priority": "when convenient"}, format="json")

    assert response.json()["priority"] == "medium"
    assert ActivityEvent.objects.get(event_type="task.created").data["priority_sent"] == "when convenient"


def test_one_of_our_own_priorities_leaves_no_note(board, lead_api):
    from agents.models import ActivityEvent

    lead_api.post(tasks_url(board), {"title": "Plain", "priority": "high"}, format="json")

    assert "priority_sent" not in ActivityEvent.objects.get(event_type="task.created").data


def test_a_lead_changing_a_priority_to_a_word_gets_it_read_and_recorded(board, lead_api):
    from agents.models import ActivityEvent

    task = make_task(board, "Docs", priority="low")
    response = lead_api.patch(tasks_url(board, task), {"priority": "P1"}, format="json")

    assert response.status_code == 200
    assert response.json()["priority"] == "high"
    event = ActivityEvent.objects.get(event_type="task.updated")
    assert (event.data["changes"], event.data["priority_sent"]) == (["priority"], "P1")


def test_a_priority_that_is_not_text_is_still_422_on_the_agent_api(board, lead_api):
    assert_refused(lead_api.post(tasks_url(board), {"title": "T", "priority": ["high"]}, format="json"), 422)
    assert not Task.objects.exists()


@pytest.mark.parametrize("word", ["critical", "p1", "normal"])
def test_the_user_api_still_refuses_priority_words(client_for, admin_user, board, word):
    response = client_for(admin_user).post(f"/api/v1/boards/{board.id}/tasks", {"title": "T", "priority": word},
                                           format="json")

    body = assert_refused(response, 422)
    assert "priority" in body["detail"]
    assert not Task.objects.exists()
