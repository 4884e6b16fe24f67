"""Comments on tasks and board memory."""

from __future__ import annotations

import pytest
from django.http import Http404

from agents import rules
from agents.models import ActivityEvent, BoardMemory
from tests.agents.rules_helpers import refused
from tests.conftest import make_agent, make_task

pytestmark = pytest.mark.django_db


def test_a_worker_comments_on_its_own_task(worker, board):
    task = make_task(board, assigned_agent=worker)
    comment = rules.add_comment(worker, task, "Halfway there")
    assert comment.author_agent == worker and comment.message == "Halfway there"
    event = ActivityEvent.objects.get()
    assert event.event_type == "task.commented" and event.data["comment_id"] == str(comment.pk)


def test_a_worker_comments_on_an_unassigned_task(worker, board):
    assert rules.add_comment(worker, make_task(board), "I can take this").pk


def test_a_worker_comments_on_a_task_held_by_someone_else(worker, board):
    other = make_agent("Other", board=board)
    task = make_task(board, status="in_progress", assigned_agent=other)

    comment = rules.add_comment(worker, task, "The flaky test is in the retry loop; see line 40.")

    assert comment.author_agent == worker and comment.task == task
    task.refresh_from_db()
    assert (task.status, task.assigned_agent) == ("in_progress", other)
    assert ActivityEvent.objects.get().event_type == "task.commented"


def test_a_worker_comments_on_a_task_held_by_the_lead(worker, lead, board):
    task = make_task(board, status="review", assigned_agent=lead)
    assert rules.add_comment(worker, task, "Answering your question: yes, both locales.").author_agent == worker


def test_an_update_with_only_a_comment_is_a_comment_for_a_worker_on_someone_elses_task(worker, board):
    other = make_agent("Other", board=board)
    task = make_task(board, status="in_progress", assigned_agent=other)

    updated = rules.update_task(worker, task, {}, comment="I can pair on this after lunch.")

    assert (updated.status, updated.assigned_agent_id) == ("in_progress", other.pk)
    assert task.comments.get().author_agent == worker
    assert ActivityEvent.objects.get().event_type == "task.commented"


def test_a_worker_changing_someone_elses_task_is_refused_and_its_comment_not_written(worker, board):
    other = make_agent("Other", board=board)
    task = make_task(board, status="in_progress", assigned_agent=other)

    with refused(403, "task_assigned_to_someone_else"):
        rules.update_task(worker, task, {"status": "review"}, comment="Done, I think.")

    assert not task.comments.exists()
    assert not ActivityEvent.objects.exists()
    task.refresh_from_db()
    assert (task.status, task.assigned_agent) == ("in_progress", other)


def test_the_lead_comments_on_any_task_of_its_board(lead, worker, board):
    task = make_task(board, assigned_agent=worker)
    assert rules.add_comment(lead, task, "Check the edge case").author_agent == lead


def test_members_and_admins_comment(member, admin_user, board):
    task = make_task(board)
    assert rules.add_comment(member, task, "Nice").author_user == member
    assert rules.add_comment(admin_user, task, "Agreed").author_user == admin_user


def test_an_empty_comment_is_refused(worker, board):
    with refused(422, "comment_empty"):
        rules.add_comment(worker, make_task(board), "   ")


def test_outsiders_and_foreign_agents_cannot_comment(outsider, foreign_agent, board):
    task = make_task(board)
    with pytest.raises(Http404):
        rules.add_comment(outsider, task, "Hi")
    with refused(403, "board_out_of_reach"):
        rules.add_comment(foreign_agent, task, "Hi")


def test_the_main_agent_cannot_comment(main_agent, board):
    with refused(403, "board_agents_only"):
        rules.add_comment(main_agent, make_task(board), "Hi")


def test_a_memory_tagged_chat_is_chat(worker, board):
    memory = rules.create_memory(worker, board, {"content": "Anyone free?", "tags": ["chat"], "source": "agent"})
    assert memory.is_chat and memory.author_agent == worker and memory.source == "agent"
    event = ActivityEvent.objects.get()
    assert event.event_type == "memory.created" and event.data["is_chat"] is True


def test_a_memory_without_the_chat_tag_is_a_note(member, board):
    memory = rules.create_memory(member, board, {"content": "Deploys freeze Friday"})
    assert not memory.is_chat and memory.author_user == member and memory.tags == []


def test_memory_needs_content_and_string_tags(worker, board):
    with refused(422, "memory_content_required"):
        rules.create_memory(worker, board, {"content": ""})
    with refused(422, "memory_tags_invalid"):
        rules.create_memory(worker, board, {"content": "x", "tags": "chat"})
    assert not BoardMemory.objects.exists()


def test_memory_of_another_board_is_out_of_reach(foreign_agent, board):
    with refused(403, "board_out_of_reach"):
        rules.create_memory(foreign_agent, board, {"content": "x"})


def test_memory_source_must_be_text(worker, board):
    with refused(422, "memory_source_invalid"):
        rules.create_memory(worker, board, {"content": "x", "source": 12})


def test_the_main_agent_writes_memory_on_its_organizations_boards(main_agent, board):
    memory = rules.create_memory(main_agent, board, {"content": "The user says: ship on Friday.",
                                                     "tags": ["gateway_main", "user_reply"]})
    assert memory.author_agent == main_agent and not memory.is_chat
    assert ActivityEvent.objects.get().actor_agent_id == main_agent.pk


def test_the_main_agent_cannot_write_memory_on_another_organizations_board(main_agent, other_board):
    with refused(403, "board_out_of_reach"):
        rules.create_memory(main_agent, other_board, {"content": "Hello"})
    assert not BoardMemory.objects.exists()
