"""The five board gates, on update and on create, for anyone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents import rules
from agents.models import Task, TaskComment
from tests.agents.rules_helpers import approve, refused
from tests.conftest import make_task

pytestmark = pytest.mark.django_db


def set_flags(board, **flags):
    defaults = {"require_approval_for_done": False}
    for name, value in {**defaults, **flags}.items():
        setattr(board, name, value)
    board.save()


# --- require_approval_for_done (on by default) -----------------------------------------------


def test_done_needs_an_approved_approval_by_default(worker, board):
    task = make_task(board)
    with refused(409, "approval_required_for_done"):
        rules.update_task(worker, task, {"status": "done"})
    task.refresh_from_db()
    assert task.status == "inbox"


def test_a_pending_or_rejected_approval_does_not_open_the_done_gate(admin_user, board):
    task = make_task(board, status="review")
    approve(task, "rejected")
    with refused(409, "approval_required_for_done"):
        rules.update_task(admin_user, task, {"status": "done"})


def test_an_approved_approval_opens_the_done_gate(worker, board):
    task = make_task(board)
    approve(task)
    assert rules.update_task(worker, task, {"status": "done"}).status == "done"


def test_an_approved_approval_of_another_action_does_not_open_the_done_gate(worker, board):
    task = make_task(board)
    approve(task, action_type="deploy")
    with refused(409, "approval_required_for_done"):
        rules.update_task(worker, task, {"status": "done"})


def test_an_approval_from_before_the_task_was_reopened_does_not_open_the_done_gate(admin_user, lead, worker, board):
    task = make_task(board)
    approve(task)
    rules.update_task(worker, task, {"status": "done"})
    rules.update_task(admin_user, task, {"status": "inbox"})  # reopened: the old approval is spent
    rules.update_task(worker, task, {"status": "in_progress"})

    with refused(409, "approval_required_for_done"):
        rules.update_task(worker, task, {"status": "done"})
    approve(task)
    assert rules.update_task(worker, task, {"status": "done"}).status == "done"


def test_a_task_sent_back_from_review_needs_a_new_approval(lead, worker, board):
    task = make_task(board)
    rules.update_task(worker, task, {"status": "in_progress"})
    approve(task)
    rules.update_task(worker, task, {"status": "review"})
    rules.update_task(lead, task, {"status": "inbox"})  # back to the worker: more work
    task.refresh_from_db()
    assert task.reopened_at is not None

    rules.update_task(worker, task, {"status": "in_progress"})
    with refused(409, "approval_required_for_done"):
        rules.update_task(worker, task, {"status": "done"})


def test_review_to_done_keeps_the_approval_asked_for_in_review(lead, worker, board):
    task = make_task(board)
    rules.update_task(worker, task, {"status": "in_progress"})
    rules.update_task(worker, task, {"status": "review"})
    approve(task)
    assert rules.update_task(lead, task, {"status": "done"}).status == "done"


def test_a_dependent_sent_back_from_review_by_a_reopened_dependency_needs_a_new_approval(admin_user, lead, worker,
                                                                                         board):
    base, dependent = make_task(board, "Base"), make_task(board, "Dependent")
    approve(base)
    rules.update_task(worker, base, {"status": "done"})
    rules.update_task(admin_user, dependent, {"depends_on_task_ids": [str(base.pk)]})
    rules.update_task(worker, dependent, {"status": "in_progress"})
    approve(dependent)
    rules.update_task(worker, dependent, {"status": "review"})

    rules.update_task(admin_user, base, {"status": "inbox"})
    dependent.refresh_from_db()
    assert dependent.status == "inbox" and dependent.reopened_at is not None
    approve(base)
    rules.update_task(worker, base, {"status": "done"})
    rules.update_task(worker, dependent, {"status": "in_progress"})
    with refused(409, "approval_required_for_done"):
        rules.update_task(worker, dependent, {"status": "done"})


def test_a_task_cannot_be_created_done_past_the_approval_gate(admin_user, lead, board):
    with refused(409, "approval_required_for_done"):
        rules.create_task(admin_user, board, {"title": "Shortcut", "status": "done"})
    assert not Task.objects.exists()


def test_without_the_approval_gate_an_admin_may_create_a_done_task(admin_user, board):
    set_flags(board)
    assert rules.create_task(admin_user, board, {"title": "Old work", "status": "done"}).status == "done"


# --- require_review_before_done ------------------------------------------------------------


def test_done_only_from_review_when_the_board_requires_review(worker, board):
    set_flags(board, require_review_before_done=True)
    task = make_task(board, status="in_progress", assigned_agent=worker)
    with refused(409, "review_required_before_done"):
        rules.update_task(worker, task, {"status": "done"})


def test_review_gate_lets_done_through_from_review(lead, worker, board):
    set_flags(board, require_review_before_done=True)
    task = make_task(board, status="review", assigned_agent=lead, review_requested_by=worker)
    assert rules.update_task(lead, task, {"status": "done"}).status == "done"


def test_review_gate_applies_on_create(admin_user, board):
    set_flags(board, require_review_before_done=True)
    with refused(409, "review_required_before_done"):
        rules.create_task(admin_user, board, {"title": "Done already", "status": "done"})


def test_review_gate_applies_to_admins_too(admin_user, board):
    set_flags(board, require_review_before_done=True)
    task = make_task(board, status="in_progress")
    with refused(409, "review_required_before_done"):
        rules.update_task(admin_user, task, {"status": "done"})


# --- comment_required_for_review -------------------------------------------------------------


def test_review_needs_a_comment_when_the_board_says_so(worker, board):
    set_flags(board, comment_required_for_review=True)
    task = make_task(board, status="in_progress", assigned_agent=worker, in_progress_at=timezone.now())
    with refused(422, "comment_required_for_review"):
        rules.update_task(worker, task, {"status": "review"})


def test_a_comment_in_the_same_request_satisfies_the_review_gate(worker, lead, board):
    set_flags(board, comment_required_for_review=True)
    task = make_task(board, status="in_progress", assigned_agent=worker, in_progress_at=timezone.now())
    task = rules.update_task(worker, task, {"status": "review"}, comment="Ready: see PR 12")
    assert task.status == "review"
    assert TaskComment.objects.get().message == "Ready: see PR 12"


def test_a_comment_by_the_assignee_since_work_started_satisfies_the_review_gate(worker, board):
    set_flags(board, comment_required_for_review=True)
    started = timezone.now() - timedelta(hours=1)
    task = make_task(board, status="in_progress", assigned_agent=worker, in_progress_at=started)
    TaskComment.objects.create(task=task, message="progress", author_agent=worker)
    assert rules.update_task(worker, task, {"status": "review"}).status == "review"


def test_a_comment_from_before_work_started_does_not_count(worker, board):
    set_flags(board, comment_required_for_review=True)
    task = make_task(board, status="in_progress", assigned_agent=worker)
    TaskComment.objects.create(task=task, message="old", author_agent=worker,
                               created_at=timezone.now() - timedelta(days=1))
    task.in_progress_at = timezone.now() - timedelta(hours=1)
    task.save()
    with refused(422, "comment_required_for_review"):
        rules.update_task(worker, task, {"status": "review"})


def test_a_comment_by_someone_else_does_not_count(worker, admin_user, board):
    set_flags(board, comment_required_for_review=True)
    task = make_task(board, status="in_progress", assigned_agent=worker,
                     in_progress_at=timezone.now() - timedelta(hours=1))
    TaskComment.objects.create(task=task, message="hurry", author_user=admin_user)
    with refused(422, "comment_required_for_review"):
        rules.update_task(worker, task, {"status": "review"})


def test_the_comment_gate_applies_on_create(admin_user, board):
    set_flags(board, comment_required_for_review=True)
    with refused(422, "comment_required_for_review"):
        rules.create_task(admin_user, board, {"title": "T", "status": "review"})


# --- block_status_changes_with_pending_approval ------------------------------------------------


def test_a_pending_approval_freezes_the_status(worker, board):
    set_flags(board, block_status_changes_with_pending_approval=True)
    task = make_task(board)
    approval = approve(task, "pending")
    with refused(409, "pending_approval_blocks_status_change") as caught:
        rules.update_task(worker, task, {"status": "in_progress"})
    assert caught.value.detail["approval_ids"] == [str(approval.pk)]


def test_a_pending_approval_does_not_freeze_other_fields(admin_user, board):
    set_flags(board, block_status_changes_with_pending_approval=True)
    task = make_task(board)
    approve(task, "pending")
    assert rules.update_task(admin_user, task, {"title": "Renamed"}).title == "Renamed"


def test_without_the_flag_a_pending_approval_does_not_freeze_the_status(worker, board):
    set_flags(board)
    task = make_task(board)
    approve(task, "pending")
    assert rules.update_task(worker, task, {"status": "in_progress"}).status == "in_progress"


# --- only_lead_can_change_status ---------------------------------------------------------------


def test_workers_get_403_when_only_the_lead_changes_status(worker, board):
    set_flags(board, only_lead_can_change_status=True)
    task = make_task(board)
    with refused(403, "only_lead_can_change_status"):
        rules.update_task(worker, task, {"status": "in_progress"})


def test_workers_still_comment_when_only_the_lead_changes_status(worker, board):
    set_flags(board, only_lead_can_change_status=True)
    task = make_task(board)
    rules.update_task(worker, task, {}, comment="I can start tomorrow")
    assert TaskComment.objects.get().author_agent == worker


def test_the_lead_still_changes_status_when_only_the_lead_may(lead, worker, board):
    set_flags(board, only_lead_can_change_status=True)
    task = make_task(board)
    task = rules.update_task(lead, task, {"status": "in_progress", "assigned_agent_id": worker.pk})
    assert task.status == "in_progress"
