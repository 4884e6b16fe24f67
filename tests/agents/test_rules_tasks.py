"""Who may create, change and delete tasks, and what a status change does to the assignee."""

from __future__ import annotations

import pytest
from django.http import Http404

from agents import rules
from agents.models import ActivityEvent, Tag, Task, TaskComment
from tests.agents.rules_helpers import refused
from tests.conftest import make_agent, make_board, make_task

pytestmark = pytest.mark.django_db


# --- create -------------------------------------------------------------------------------


def test_a_lead_creates_a_task_in_inbox_and_it_is_recorded(lead, board):
    task = rules.create_task(lead, board, {"title": "Write docs", "priority": "high"})

    assert task.status == "inbox" and task.priority == "high"
    assert task.created_by_agent == lead and task.created_by_user is None
    event = ActivityEvent.objects.get(event_type="task.created")
    assert (event.task_id, event.actor_agent_id, event.board_id) == (task.pk, lead.pk, board.pk)


def test_an_admin_creates_a_task(admin_user, board):
    task = rules.create_task(admin_user, board, {"title": "Plan"})
    assert task.created_by_user == admin_user


def test_a_worker_cannot_create_tasks(worker, board):
    with refused(403, "lead_required"):
        rules.create_task(worker, board, {"title": "Mine"})
    assert not Task.objects.exists()


def test_a_member_creates_a_task(member, board):
    task = rules.create_task(member, board, {"title": "Mine"})
    assert task.created_by_user == member and Task.objects.get().title == "Mine"


def test_a_main_agent_cannot_create_tasks(main_agent, board):
    with refused(403, "board_agents_only"):
        rules.create_task(main_agent, board, {"title": "Mine"})


def test_an_agent_of_another_board_is_out_of_reach(foreign_agent, board):
    with refused(403, "board_out_of_reach"):
        rules.create_task(foreign_agent, board, {"title": "Mine"})


def test_a_person_of_another_organization_gets_not_found(outsider, board):
    with pytest.raises(Http404):
        rules.create_task(outsider, board, {"title": "Mine"})


def test_a_task_needs_a_title(lead, board):
    with refused(422, "title_required"):
        rules.create_task(lead, board, {"title": "  "})


def test_unknown_status_and_priority_are_refused(admin_user, board):
    with refused(422, "invalid_status"):
        rules.create_task(admin_user, board, {"title": "T", "status": "later"})
    with refused(422, "invalid_priority"):
        rules.create_task(admin_user, board, {"title": "T", "priority": "whenever"})


def test_the_assignee_must_be_an_agent_of_the_board(admin_user, board, foreign_agent):
    with refused(422, "assignee_not_on_board"):
        rules.create_task(admin_user, board, {"title": "T", "assigned_agent_id": str(foreign_agent.pk)})


def test_a_lead_starts_a_task_on_create_by_assigning_a_worker(lead, worker, board):
    task = rules.create_task(lead, board, {"title": "Go", "status": "in_progress",
                                           "assigned_agent_id": str(worker.pk)})
    assert task.status == "in_progress" and task.assigned_agent == worker
    assert task.in_progress_at is not None


def test_a_lead_cannot_create_a_task_in_progress_without_a_worker(lead, board):
    with refused(403, "lead_transition_not_allowed"):
        rules.create_task(lead, board, {"title": "Go", "status": "in_progress"})


def test_a_lead_cannot_assign_a_task_to_a_lead(lead, board):
    with refused(422, "cannot_assign_to_lead"):
        rules.create_task(lead, board, {"title": "Go", "assigned_agent_id": str(lead.pk)})


def test_tags_must_belong_to_the_board_organization(admin_user, board, other_org, org):
    from agents.models import Tag

    mine = Tag.objects.create(organization=org, name="ui", slug="ui")
    theirs = Tag.objects.create(organization=other_org, name="x", slug="x")
    with refused(422, "tag_not_in_organization") as caught:
        rules.create_task(admin_user, board, {"title": "T", "tag_ids": [str(mine.pk), str(theirs.pk)]})
    assert caught.value.detail["tag_ids"] == [str(theirs.pk)]

    task = rules.create_task(admin_user, board, {"title": "T", "tag_ids": [str(mine.pk)]})
    assert list(task.tags.all()) == [mine]


def test_malformed_ids_are_refused(admin_user, board):
    with refused(422, "invalid_id"):
        rules.create_task(admin_user, board, {"title": "T", "assigned_agent_id": "nope"})


def test_unknown_fields_are_refused(admin_user, board):
    with refused(422, "unknown_field"):
        rules.create_task(admin_user, board, {"title": "T", "colour": "red"})


# --- update: workers ----------------------------------------------------------------------


def test_a_worker_moving_an_unassigned_task_to_in_progress_takes_it(worker, board):
    task = make_task(board)

    task = rules.update_task(worker, task, {"status": "in_progress"})

    assert task.assigned_agent == worker and task.in_progress_at is not None
    event = ActivityEvent.objects.get(event_type="task.status_changed")
    assert event.data["from"] == "inbox" and event.data["to"] == "in_progress"
    assert event.actor_agent_id == worker.pk


def test_a_worker_moving_to_review_hands_the_task_to_the_lead(worker, lead, board):
    task = make_task(board, status="in_progress", assigned_agent=worker)

    task = rules.update_task(worker, task, {"status": "review"})

    assert task.assigned_agent == lead and task.review_requested_by == worker


def test_a_worker_moving_to_inbox_unassigns_it(worker, board):
    task = make_task(board, status="in_progress", assigned_agent=worker)
    task = rules.update_task(worker, task, {"status": "inbox"})
    assert task.status == "inbox" and task.assigned_agent is None


def test_a_worker_moving_to_done_takes_the_task(worker, board):
    board.require_approval_for_done = False
    board.save()
    task = make_task(board)
    task = rules.update_task(worker, task, {"status": "done"})
    assert task.status == "done" and task.assigned_agent == worker


def test_a_worker_cannot_move_a_task_assigned_to_someone_else(worker, board):
    other = make_agent("Other", board=board)
    task = make_task(board, status="in_progress", assigned_agent=other)
    with refused(403, "task_assigned_to_someone_else"):
        rules.update_task(worker, task, {"status": "review"})


def test_a_worker_can_only_change_the_status(worker, board):
    task = make_task(board)
    with refused(403, "worker_can_only_change_status") as caught:
        rules.update_task(worker, task, {"title": "Renamed", "status": "in_progress"})
    assert caught.value.detail["fields"] == ["title"]
    task.refresh_from_db()
    assert task.status == "inbox"


def test_a_worker_refusal_names_the_fields_as_the_client_sent_them(worker, board):
    other = make_agent("Other", board=board)
    dependency = make_task(board, "First")
    tag = Tag.objects.create(organization=board.organization, name="Docs", slug="docs")
    task = make_task(board)
    with refused(403, "worker_can_only_change_status") as caught:
        rules.update_task(worker, task, {"status": "in_progress", "assigned_agent_id": str(other.pk),
                                         "depends_on_task_ids": [str(dependency.pk)], "tag_ids": [str(tag.pk)]})
    assert caught.value.detail["fields"] == ["assigned_agent_id", "depends_on_task_ids", "tag_ids"]


def test_a_worker_resending_unchanged_fields_is_fine(worker, board):
    task = make_task(board, title="Same")
    task = rules.update_task(worker, task, {"title": "Same", "status": "in_progress"})
    assert task.status == "in_progress"


def test_a_worker_cannot_reach_a_task_of_another_board(foreign_agent, board):
    task = make_task(board)
    with refused(403, "board_out_of_reach"):
        rules.update_task(foreign_agent, task, {"status": "in_progress"})


def test_an_explicit_null_status_is_refused(admin_user, board):
    task = make_task(board)
    with refused(422, "status_required"):
        rules.update_task(admin_user, task, {"status": None})


# --- update: leads ------------------------------------------------------------------------


def test_a_lead_sending_a_task_back_from_review_returns_it_to_the_worker(worker, lead, board):
    task = make_task(board, status="review", assigned_agent=lead, review_requested_by=worker)

    task = rules.update_task(lead, task, {"status": "inbox"})

    assert task.status == "inbox" and task.assigned_agent == worker
    assert task.review_requested_by is None


def test_a_lead_moves_a_reviewed_task_to_done(lead, worker, board):
    board.require_approval_for_done = False
    board.save()
    task = make_task(board, status="review", assigned_agent=lead, review_requested_by=worker)
    task = rules.update_task(lead, task, {"status": "done"})
    assert task.status == "done"


@pytest.mark.parametrize(("start", "target"), [
    ("inbox", "review"), ("inbox", "done"), ("in_progress", "review"), ("in_progress", "done"),
    ("in_progress", "inbox"), ("review", "in_progress"), ("done", "inbox"),
])
def test_a_lead_moves_a_task_only_out_of_review_or_to_start_it(lead, board, start, target):
    board.require_approval_for_done = False
    board.save()
    task = make_task(board, status=start)
    with refused(403, "lead_transition_not_allowed"):
        rules.update_task(lead, task, {"status": target})


def test_a_lead_starts_an_inbox_task_by_assigning_a_worker(lead, worker, board):
    task = make_task(board)
    task = rules.update_task(lead, task, {"status": "in_progress", "assigned_agent_id": worker.pk})
    assert task.status == "in_progress" and task.assigned_agent == worker and task.in_progress_at


def test_a_lead_cannot_start_a_task_without_assigning_a_worker(lead, board):
    task = make_task(board)
    with refused(403, "lead_transition_not_allowed"):
        rules.update_task(lead, task, {"status": "in_progress"})


def test_a_lead_cannot_reassign_a_task_to_a_lead(lead, board):
    task = make_task(board)
    with refused(422, "cannot_assign_to_lead"):
        rules.update_task(lead, task, {"assigned_agent_id": lead.pk})


def test_a_lead_edits_fields_and_that_is_one_update_event(lead, board):
    task = make_task(board, title="Old")
    task = rules.update_task(lead, task, {"title": "New", "priority": "urgent"})
    assert (task.title, task.priority) == ("New", "urgent")
    event = ActivityEvent.objects.get()
    assert event.event_type == "task.updated" and event.data["changes"] == ["priority", "title"]


def test_the_update_event_names_changed_fields_as_the_api_does(admin_user, worker, board, org):
    dependency = make_task(board, title="First", status="done")
    tag = Tag.objects.create(organization=org, name="Ops", slug="ops", color="112233")
    task = make_task(board, title="Second")

    rules.update_task(admin_user, task, {"assigned_agent_id": worker.pk, "depends_on_task_ids": [dependency.pk],
                                         "tag_ids": [tag.pk]})

    event = ActivityEvent.objects.get(event_type="task.updated")
    assert event.data["changes"] == ["assigned_agent_id", "depends_on_task_ids", "tag_ids"]


# --- update: people -----------------------------------------------------------------------


def test_an_admin_moves_a_task_between_any_statuses(admin_user, board):
    task = make_task(board, status="done")
    task = rules.update_task(admin_user, task, {"status": "in_progress"})
    assert task.status == "in_progress" and task.in_progress_at is not None


def test_a_member_changes_and_moves_a_task(member, board):
    task = make_task(board)
    task = rules.update_task(member, task, {"title": "Mine", "status": "in_progress"})
    task.refresh_from_db()
    assert task.title == "Mine" and task.status == "in_progress"


def test_a_member_may_comment_through_an_update_without_changes(member, board):
    task = make_task(board)
    rules.update_task(member, task, {}, comment="Looks good")
    assert TaskComment.objects.get().author_user == member
    assert ActivityEvent.objects.get().event_type == "task.commented"


def test_a_status_change_with_a_comment_writes_one_event_and_the_comment(worker, board):
    task = make_task(board)
    rules.update_task(worker, task, {"status": "in_progress"}, comment="On it")
    comment = TaskComment.objects.get()
    assert comment.author_agent == worker and comment.message == "On it"
    event = ActivityEvent.objects.get()
    assert event.event_type == "task.status_changed" and event.data["comment_id"] == str(comment.pk)


def test_a_change_that_changes_nothing_writes_no_event(admin_user, board):
    task = make_task(board, title="Same")
    rules.update_task(admin_user, task, {"title": "Same"})
    assert not ActivityEvent.objects.exists()


# --- delete -------------------------------------------------------------------------------


def test_a_lead_deletes_a_task_and_its_history_stays(lead, board):
    task = make_task(board, title="Gone")
    task_id = task.pk
    rules.delete_task(lead, task)
    assert not Task.objects.filter(pk=task_id).exists()
    event = ActivityEvent.objects.get(event_type="task.deleted")
    assert event.task_id == task_id and event.data["title"] == "Gone"


def test_an_admin_deletes_a_task(admin_user, board):
    rules.delete_task(admin_user, make_task(board))
    assert not Task.objects.exists()


def test_a_member_deletes_a_task(member, board):
    rules.delete_task(member, make_task(board))
    assert not Task.objects.exists()


@pytest.mark.parametrize(("who", "code"), [("worker", "lead_required"),
                                           ("main_agent", "board_agents_only")])
def test_others_cannot_delete_tasks(request, board, who, code):
    actor = request.getfixturevalue(who)
    task = make_task(board)
    with refused(403, code):
        rules.delete_task(actor, task)
    assert Task.objects.filter(pk=task.pk).exists()


def test_a_lead_of_another_board_of_the_same_organization_cannot_reach_it(org, board):
    second = make_board(org, "Second")
    other_lead = make_agent("Other lead", board=second, lead=True)
    with refused(403, "board_out_of_reach"):
        rules.delete_task(other_lead, make_task(board))


def test_a_worker_repeating_the_current_status_of_a_task_held_by_someone_else_is_refused(worker, board):
    other = make_agent("Other", board=board)
    task = make_task(board, status="in_progress", assigned_agent=other)
    with refused(403, "task_assigned_to_someone_else"):
        rules.update_task(worker, task, {"status": "in_progress"})


def test_due_at_accepts_iso_text_and_refuses_anything_else(admin_user, board):
    task = rules.create_task(admin_user, board, {"title": "T", "due_at": "2030-01-02T03:04:05Z"})
    assert task.due_at.year == 2030 and task.due_at.tzinfo is not None
    with refused(422, "invalid_due_at"):
        rules.update_task(admin_user, task, {"due_at": "next tuesday"})
