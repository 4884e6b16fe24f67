from __future__ import annotations

from agents import activity
from agents.models import ActivityEvent, Organization
from ops.signals import operation_recorded
from tests.conftest import make_task


def test_an_event_by_a_person_names_the_user_and_the_board_organization(owner, board):
    event = activity.record("board.updated", actor=owner, board=board, message="Renamed", data={"a": 1})

    event.refresh_from_db()
    assert event.actor_type == "user"
    assert event.actor_user_id == owner.pk
    assert event.actor_name == "owner"
    assert event.organization_id == board.organization_id
    assert event.board_id == board.pk
    assert event.data == {"a": 1}


def test_an_event_by_an_agent_about_a_task_takes_the_task_board(worker, board):
    task = make_task(board, "Write")
    event = activity.record("task.updated", actor=worker, task=task)

    assert event.actor_type == "agent"
    assert event.actor_agent_id == worker.pk
    assert event.actor_name == "Worker"
    assert event.board_id == board.pk
    assert event.task_id == task.pk
    assert event.organization_id == board.organization_id


def test_an_event_without_actor_is_the_system(main_agent):
    event = activity.record("agent.updated", actor=None, agent=main_agent)

    assert event.actor_type == "system"
    assert event.actor_user_id is None and event.actor_agent_id is None
    assert event.organization_id == main_agent.organization_id
    assert event.agent_id == main_agent.pk


def test_events_keep_their_ids_after_the_task_is_deleted(owner, board):
    task = make_task(board, "Doomed")
    task_id = task.pk
    activity.record("task.created", actor=owner, task=task)
    task.delete()

    event = ActivityEvent.objects.get(event_type="task.created")
    assert event.task_id == task_id
    assert event.board_id == board.pk


def test_an_ops_operation_signal_becomes_a_system_event_of_the_default_organization(org):
    operation_recorded.send(sender=None, event_type="ops.backup", message="Backup written",
                            data={"path": "/tmp/x"})

    event = ActivityEvent.objects.get(event_type="ops.backup")
    assert event.actor_type == "system"
    assert event.message == "Backup written"
    assert event.data == {"path": "/tmp/x"}
    assert event.organization_id == Organization.objects.get(is_default=True).pk
