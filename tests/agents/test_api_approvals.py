"""Approvals and board memory through the user API."""

from __future__ import annotations

import pytest

from agents.models import Approval, BoardMemory
from tests.agents.api_helpers import assert_refused, ids, pending_approval
from tests.conftest import make_task

pytestmark = pytest.mark.django_db

APPROVAL_FIELDS = {"id", "board_id", "action_type", "task_id", "task_ids", "task_titles", "payload", "confidence",
                   "rubric_scores", "status", "agent_id", "created_at", "resolved_at", "lead_reasoning"}


@pytest.fixture
def admin(client_for, admin_user):
    return client_for(admin_user)


def approvals_url(board, *rest):
    return "/".join([f"/api/v1/boards/{board.pk}/approvals", *(str(part) for part in rest)])


def test_an_admin_asks_for_an_approval_on_two_tasks(admin, board):
    first, second = make_task(board, "First"), make_task(board, "Second")
    response = admin.post(approvals_url(board), {
        "action_type": "mark_done", "task_ids": [str(first.pk), str(second.pk)], "confidence": 85,
        "rubric_scores": {"tests": 9}, "payload": {"reason": "Both shipped"}}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == APPROVAL_FIELDS
    assert body["status"] == "pending" and body["resolved_at"] is None
    assert body["task_id"] == str(first.pk)
    assert body["task_ids"] == [str(first.pk), str(second.pk)]
    assert body["task_titles"] == ["First", "Second"]
    assert body["rubric_scores"] == {"tests": 9}


def test_an_approval_without_a_reason_is_422(admin, board):
    task = make_task(board)
    assert_refused(admin.post(approvals_url(board), {"action_type": "x", "task_id": str(task.pk), "confidence": 50},
                              format="json"), 422, "approval_reason_required")


@pytest.mark.parametrize("payload", [{"confidence": 101}, {"confidence": -1}, {"rubric_scores": {"a": "high"}},
                                     {"status": "approved"}, {"mood": "good"}])
def test_bad_approval_values_are_422(admin, board, payload):
    body = {"action_type": "x", "confidence": 50, "lead_reasoning": "Because", **payload}
    assert_refused(admin.post(approvals_url(board), body, format="json"), 422)
    assert not Approval.objects.exists()


def test_a_second_pending_approval_for_a_task_is_409_with_the_conflict(admin, board):
    task = make_task(board)
    existing = pending_approval(board, task)
    body = assert_refused(admin.post(approvals_url(board), {"action_type": "x", "task_id": str(task.pk),
                                                            "confidence": 50, "lead_reasoning": "Again"},
                                     format="json"), 409, "task_has_pending_approval")
    assert body["detail"]["conflicting_approval_ids"] == [str(existing.pk)]


def test_the_list_filters_by_status(admin, board):
    waiting = pending_approval(board, make_task(board, "A"))
    pending_approval(board, make_task(board, "B"), status="approved")
    assert ids(admin.get(approvals_url(board) + "?status=pending").json()["items"]) == [str(waiting.pk)]
    assert admin.get(approvals_url(board) + "?status=pending,approved").json()["total"] == 2
    assert_refused(admin.get(approvals_url(board) + "?status=maybe"), 422)


def test_a_person_resolves_an_approval_once(admin, board, admin_user):
    approval = pending_approval(board, make_task(board))
    response = admin.patch(approvals_url(board, approval.pk), {"status": "approved"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "approved" and response.json()["resolved_at"] is not None
    approval.refresh_from_db()
    assert approval.resolved_by == admin_user

    assert_refused(admin.patch(approvals_url(board, approval.pk), {"status": "rejected"}, format="json"),
                   409, "approval_already_resolved")


@pytest.mark.parametrize("payload", [{"status": "pending"}, {"status": None}, {}, {"status": "approved", "x": 1}])
def test_a_resolution_is_approved_or_rejected(admin, board, payload):
    approval = pending_approval(board, make_task(board))
    assert_refused(admin.patch(approvals_url(board, approval.pk), payload, format="json"), 422)
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_an_approval_of_another_board_is_not_found_here(admin, board, org):
    from tests.conftest import make_board

    other = make_board(org, "Other")
    approval = pending_approval(other, make_task(other))
    assert_refused(admin.patch(approvals_url(board, approval.pk), {"status": "approved"}, format="json"), 404)


# --- board memory ---------------------------------------------------------------------------


def memory_url(board):
    return f"/api/v1/boards/{board.pk}/memory"


def test_a_member_writes_chat_and_notes_and_filters_them(client_for, member, board):
    client = client_for(member)
    chat = client.post(memory_url(board), {"content": "Hello team", "tags": ["chat"]}, format="json")
    note = client.post(memory_url(board), {"content": "Deploy on Fridays is banned", "source": "ops"},
                       format="json")
    assert chat.status_code == 201 and note.status_code == 201
    assert set(chat.json()) == {"id", "board_id", "content", "tags", "is_chat", "source", "created_at"}
    assert chat.json()["is_chat"] is True and note.json()["is_chat"] is False

    assert ids(client.get(memory_url(board) + "?is_chat=true").json()["items"]) == [chat.json()["id"]]
    assert ids(client.get(memory_url(board) + "?is_chat=false").json()["items"]) == [note.json()["id"]]
    assert client.get(memory_url(board)).json()["total"] == 2
    assert_refused(client.get(memory_url(board) + "?is_chat=sometimes"), 422)


@pytest.mark.parametrize("payload", [{}, {"content": ""}, {"content": "x", "tags": "chat"},
                                     {"content": "x", "is_chat": True}])
def test_bad_memory_is_422(client_for, member, board, payload):
    assert_refused(client_for(member).post(memory_url(board), payload, format="json"), 422)
    assert not BoardMemory.objects.exists()
