"""Races the rules must win on Postgres: two callers at once, one winner, a clean refusal."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from agents import rules
from agents.models import Approval, Task
from agents.refusals import RuleViolation
from tests.conftest import make_agent, make_task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions need Postgres")


def race(*calls):
    """Run the calls at the same moment, each in its own thread and connection."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as exc:  # the outcome under test
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_two_workers_grabbing_the_same_task_leave_one_holder(board):
    first, second = make_agent("First", board=board), make_agent("Second", board=board)
    task = make_task(board)

    outcomes = race(lambda: rules.update_task(first, task, {"status": "in_progress"}),
                    lambda: rules.update_task(second, task, {"status": "in_progress"}))

    refusals = [o for o in outcomes if isinstance(o, RuleViolation)]
    assert len(refusals) == 1 and refusals[0].detail["code"] == "task_assigned_to_someone_else"
    winner = next(o for o in outcomes if isinstance(o, Task))
    assert Task.objects.get(pk=task.pk).assigned_agent_id == winner.assigned_agent_id


def test_two_pending_approvals_for_one_task_at_once_leave_one(worker, lead, board):
    task = make_task(board, assigned_agent=worker)  # a worker asks only about tasks it holds
    data = {"action_type": "mark_done", "task_id": str(task.pk), "confidence": 50, "lead_reasoning": "ok"}

    outcomes = race(lambda: rules.request_approval(worker, board, data),
                    lambda: rules.request_approval(lead, board, data))

    assert Approval.objects.filter(status="pending").count() == 1
    refusals = [o for o in outcomes if not isinstance(o, Approval)]
    assert len(refusals) == 1
    assert isinstance(refusals[0], RuleViolation), refusals[0]
    assert refusals[0].detail["code"] == "task_has_pending_approval"
