from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from agents.models import ActivityEvent, Agent, Approval, Board, BoardMemory, Task, TaskComment
from tests.conftest import make_board

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_the_demo_has_two_boards_agents_of_every_role_and_tasks_in_every_status():
    output = run()

    assert "Demo created: 2 boards" in output
    assert Board.objects.count() == 2
    roles = sorted(agent.role for agent in Agent.objects.all())
    assert roles == ["lead", "main", "worker", "worker"]
    assert set(Task.objects.values_list("status", flat=True)) == {"inbox", "in_progress", "review", "done"}
    assert set(Approval.objects.values_list("status", flat=True)) == {"approved", "pending"}
    assert TaskComment.objects.exists() and BoardMemory.objects.exists()
    assert ActivityEvent.objects.filter(event_type="task.status_changed").exists()
    assert all(board.organization.is_default for board in Board.objects.select_related("organization"))


def test_running_the_demo_twice_creates_it_once():
    run()
    counts = (Board.objects.count(), Task.objects.count(), ActivityEvent.objects.count())

    output = run()

    assert "already there" in output
    assert (Board.objects.count(), Task.objects.count(), ActivityEvent.objects.count()) == counts


def test_if_empty_does_nothing_when_a_board_exists(org):
    make_board(org, "Real work")

    output = run("--if-empty")

    assert "boards already exist" in output
    assert Board.objects.count() == 1 and not Task.objects.exists()


def test_if_empty_seeds_an_empty_database():
    run("--if-empty")
    assert Board.objects.count() == 2
