"""Dependencies: same board, no self, no cycles; blocked tasks; reopening."""

from __future__ import annotations

import pytest

from agents import rules
from agents.models import ActivityEvent, TaskDependency
from tests.agents.rules_helpers import refused
from tests.conftest import make_board, make_task

pytestmark = pytest.mark.django_db


def depend(task, *on):
    for other in on:
        TaskDependency.objects.create(task=task, depends_on=other)


def test_an_admin_sets_dependencies_on_the_same_board(admin_user, board):
    first, second = make_task(board, "First"), make_task(board, "Second")
    rules.update_task(admin_user, second, {"depends_on_task_ids": [str(first.pk)]})
    assert list(second.depends_on.all()) == [first]


def test_a_dependency_on_another_board_is_refused(admin_user, board, org):
    elsewhere = make_task(make_board(org, "Elsewhere"), "Far")
    task = make_task(board)
    with refused(422, "dependency_not_on_board") as caught:
        rules.update_task(admin_user, task, {"depends_on_task_ids": [str(elsewhere.pk)]})
    assert caught.value.detail["task_ids"] == [str(elsewhere.pk)]


def test_a_task_cannot_depend_on_itself(admin_user, board):
    task = make_task(board)
    with refused(422, "dependency_on_itself"):
        rules.update_task(admin_user, task, {"depends_on_task_ids": [str(task.pk)]})


def test_a_dependency_cycle_is_refused(admin_user, board):
    a, b, c = make_task(board, "A"), make_task(board, "B"), make_task(board, "C")
    depend(b, a)
    depend(c, b)
    with refused(409, "dependency_cycle"):
        rules.update_task(admin_user, a, {"depends_on_task_ids": [str(c.pk)]})
    assert not TaskDependency.objects.filter(task=a).exists()


def test_a_blocked_task_cannot_leave_inbox(worker, board):
    dependency, task = make_task(board, "Base"), make_task(board, "Top")
    depend(task, dependency)
    with refused(409, "task_blocked_cannot_transition") as caught:
        rules.update_task(worker, task, {"status": "in_progress"})
    assert caught.value.detail["blocked_by_task_ids"] == [str(dependency.pk)]


def test_a_blocked_task_cannot_be_assigned(admin_user, worker, board):
    dependency, task = make_task(board, "Base"), make_task(board, "Top")
    depend(task, dependency)
    with refused(409, "task_blocked_cannot_transition"):
        rules.update_task(admin_user, task, {"assigned_agent_id": str(worker.pk)})


def test_a_task_created_with_an_unfinished_dependency_cannot_start(lead, worker, board):
    base = make_task(board, "Base")
    with refused(409, "task_blocked_cannot_transition"):
        rules.create_task(lead, board, {"title": "Top", "status": "in_progress",
                                        "assigned_agent_id": str(worker.pk),
                                        "depends_on_task_ids": [str(base.pk)]})


def test_a_task_whose_dependencies_are_done_is_not_blocked(worker, board):
    base, task = make_task(board, "Base", status="done"), make_task(board, "Top")
    depend(task, base)
    assert rules.update_task(worker, task, {"status": "in_progress"}).status == "in_progress"


def test_blocked_by_map_lists_only_unfinished_dependencies(board):
    done, open_, task = make_task(board, "D", status="done"), make_task(board, "O"), make_task(board, "T")
    depend(task, done, open_)
    assert rules.blocked_by_map([task.pk, open_.pk]) == {task.pk: [open_.pk]}


def test_reopening_a_done_dependency_sends_unfinished_dependents_back_to_inbox(admin_user, worker, board):
    base = make_task(board, "Base", status="done")
    running = make_task(board, "Running", status="in_progress", assigned_agent=worker)
    finished = make_task(board, "Finished", status="done")
    depend(running, base)
    depend(finished, base)

    rules.update_task(admin_user, base, {"status": "in_progress"})

    running.refresh_from_db()
    finished.refresh_from_db()
    assert running.status == "inbox" and running.assigned_agent is None
    assert finished.status == "done"
    moved = ActivityEvent.objects.get(task_id=running.pk)
    assert moved.data["reason"] == "dependency_reopened" and moved.actor_user_id == admin_user.pk
