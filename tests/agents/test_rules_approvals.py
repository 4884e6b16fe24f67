"""Approvals: agents ask (pending only, with a reason); admins resolve; one pending per task."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from agents import rules
from agents.models import ActivityEvent, Approval, ApprovalTask, BoardMemory
from tests.agents.rules_helpers import approve, refused
from tests.conftest import make_agent, make_board, make_task

pytestmark = pytest.mark.django_db


def ask(**fields):
    return {"action_type": "mark_done", "confidence": 80, "lead_reasoning": "Tests pass.", **fields}


def test_a_worker_requests_a_pending_approval_for_a_task(worker, board):
    task = make_task(board, assigned_agent=worker)
    approval = rules.request_approval(worker, board, ask(task_id=str(task.pk), rubric_scores={"quality": 4}))

    assert approval.status == "pending" and approval.agent == worker
    assert list(approval.tasks.all()) == [task]
    assert ApprovalTask.objects.get().is_pending
    event = ActivityEvent.objects.get()
    assert event.event_type == "approval.requested" and event.task_id == task.pk


def test_an_approval_may_cover_several_tasks(lead, board):
    a, b = make_task(board, "A"), make_task(board, "B")
    approval = rules.request_approval(lead, board, ask(task_id=str(a.pk), task_ids=[str(a.pk), str(b.pk)]))
    assert set(approval.tasks.all()) == {a, b}


@pytest.mark.parametrize("status", ["approved", "rejected", "maybe"])
def test_agents_create_pending_approvals_only(worker, board, status):
    with refused(422, "approval_must_be_pending"):
        rules.request_approval(worker, board, ask(status=status))
    assert not Approval.objects.exists()


@pytest.mark.parametrize("reason_fields", [
    {"lead_reasoning": "because"},
    {"lead_reasoning": "", "payload": {"reason": "because"}},
    {"lead_reasoning": "", "payload": {"decision": {"reason": "because"}}},
])
def test_a_reason_may_come_from_three_places(worker, board, reason_fields):
    assert rules.request_approval(worker, board, ask(**reason_fields)).status == "pending"


def test_an_approval_without_a_reason_is_refused(worker, board):
    with refused(422, "approval_reason_required"):
        rules.request_approval(worker, board, ask(lead_reasoning="", payload={"decision": {}}))


@pytest.mark.parametrize("confidence", [-1, 101, "high", None, True])
def test_confidence_must_be_between_0_and_100(worker, board, confidence):
    with refused(422, "confidence_out_of_range"):
        rules.request_approval(worker, board, ask(confidence=confidence))


def test_rubric_scores_must_be_whole_numbers(worker, board):
    with refused(422, "rubric_scores_invalid"):
        rules.request_approval(worker, board, ask(rubric_scores={"quality": "good"}))


def test_an_approval_needs_an_action_type(worker, board):
    with refused(422, "action_type_required"):
        rules.request_approval(worker, board, ask(action_type=""))


def test_approval_tasks_must_be_on_the_board(worker, board, org):
    far = make_task(make_board(org, "Far"))
    with refused(422, "task_not_on_board"):
        rules.request_approval(worker, board, ask(task_id=str(far.pk)))


def test_one_pending_approval_per_task(worker, board):
    task = make_task(board, assigned_agent=worker)
    first = rules.request_approval(worker, board, ask(task_id=str(task.pk)))
    with refused(409, "task_has_pending_approval") as caught:
        rules.request_approval(worker, board, ask(task_ids=[str(task.pk)]))
    assert caught.value.detail["conflicting_approval_ids"] == [str(first.pk)]


def test_the_database_refuses_a_second_pending_link_for_a_task(board):
    task = make_task(board)
    approve(task, "pending")
    with pytest.raises(IntegrityError), transaction.atomic():
        approve(task, "pending")


def test_a_resolved_approval_frees_the_task_for_a_new_request(admin_user, worker, board):
    task = make_task(board, assigned_agent=worker)
    first = rules.request_approval(worker, board, ask(task_id=str(task.pk)))
    rules.resolve_approval(admin_user, first, "rejected")
    second = rules.request_approval(worker, board, ask(task_id=str(task.pk)))
    assert second.status == "pending"
    assert not ApprovalTask.objects.get(approval=first).is_pending


def test_an_admin_approves_and_who_and_when_are_recorded(admin_user, worker, lead, board):
    task = make_task(board, assigned_agent=worker)
    approval = rules.request_approval(worker, board, ask(task_id=str(task.pk)))

    approval = rules.resolve_approval(admin_user, approval, "approved")

    assert approval.status == "approved" and approval.resolved_by == admin_user
    assert approval.resolved_at is not None
    event = ActivityEvent.objects.get(event_type="approval.resolved")
    assert event.actor_user_id == admin_user.pk and event.agent_id == lead.pk
    assert event.data["status"] == "approved" and event.data["task_ids"] == [str(task.pk)]


def test_resolving_tells_the_board_lead_in_board_memory(owner, worker, lead, board):
    approval = rules.request_approval(worker, board, ask())
    rules.resolve_approval(owner, approval, "rejected")
    note = BoardMemory.objects.get()
    assert note.content.startswith("@Lead: ") and "rejected" in note.content
    assert "approval" in note.tags and note.source == "approval"


def test_agents_cannot_resolve_approvals(lead, worker, board):
    approval = rules.request_approval(worker, board, ask())
    with refused(403, "only_people_resolve_approvals"):
        rules.resolve_approval(lead, approval, "approved")


def test_members_resolve_approvals(member, worker, board):
    approval = rules.request_approval(worker, board, ask())
    approval = rules.resolve_approval(member, approval, "approved")
    assert approval.status == "approved" and approval.resolved_by == member


def test_a_resolution_must_be_approved_or_rejected(admin_user, worker, board):
    approval = rules.request_approval(worker, board, ask())
    with refused(422, "invalid_resolution"):
        rules.resolve_approval(admin_user, approval, "pending")


def test_an_approval_is_resolved_once(admin_user, worker, board):
    approval = rules.request_approval(worker, board, ask())
    rules.resolve_approval(admin_user, approval, "approved")
    with refused(409, "approval_already_resolved"):
        rules.resolve_approval(admin_user, approval, "rejected")


def test_the_main_agent_cannot_request_approvals(main_agent, board):
    with refused(403, "board_agents_only"):
        rules.request_approval(main_agent, board, ask())


def test_a_member_may_request_an_approval(member, board):
    approval = rules.request_approval(member, board, ask())
    assert approval.requested_by_user == member and approval.status == "pending"


def test_an_admin_may_request_an_approval(admin_user, board):
    approval = rules.request_approval(admin_user, board, ask())
    assert approval.requested_by_user == admin_user and approval.agent is None


def test_an_approval_payload_must_be_an_object(worker, board):
    with refused(422, "payload_invalid"):
        rules.request_approval(worker, board, ask(payload=["not", "an", "object"]))


# --- who may open an approval on a task ------------------------------------------------------


def test_a_worker_cannot_open_an_approval_on_another_workers_task(worker, board):
    holder = make_agent("Holder", board=board)
    task = make_task(board, status="in_progress", assigned_agent=holder)

    with refused(403, "approval_task_not_held") as caught:
        rules.request_approval(worker, board, ask(task_id=str(task.pk)))

    assert caught.value.detail["task_ids"] == [str(task.pk)]
    assert not Approval.objects.exists()
    # The holder is not blocked: its own request goes through.
    assert rules.request_approval(holder, board, ask(task_id=str(task.pk))).status == "pending"


def test_a_worker_cannot_open_an_approval_on_a_task_nobody_holds(worker, board):
    task = make_task(board)
    with refused(403, "approval_task_not_held"):
        rules.request_approval(worker, board, ask(task_id=str(task.pk)))


def test_one_task_held_by_someone_else_refuses_the_whole_request(worker, board):
    mine = make_task(board, "Mine", status="in_progress", assigned_agent=worker)
    theirs = make_task(board, "Theirs", status="in_progress", assigned_agent=make_agent("Holder", board=board))
    with refused(403, "approval_task_not_held") as caught:
        rules.request_approval(worker, board, ask(task_ids=[str(mine.pk), str(theirs.pk)]))
    assert caught.value.detail["task_ids"] == [str(theirs.pk)]


def test_the_lead_and_people_open_approvals_on_any_task(lead, member, worker, board):
    first = make_task(board, "First", status="in_progress", assigned_agent=worker)
    second = make_task(board, "Second", status="in_progress", assigned_agent=worker)
    assert rules.request_approval(lead, board, ask(task_id=str(first.pk))).agent == lead
    assert rules.request_approval(member, board, ask(task_id=str(second.pk))).requested_by_user == member
