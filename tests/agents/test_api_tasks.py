"""Tasks and their comments through the user API: fields, filters, writes and refusals."""

from __future__ import annotations

import uuid

import pytest

from agents.models import ActivityEvent, Task, TaskComment, TaskDependency
from tests.agents.api_helpers import assert_refused, ids
from tests.conftest import make_task

pytestmark = pytest.mark.django_db

TASK_FIELDS = {"id", "board_id", "title", "description", "status", "priority", "due_at", "in_progress_at",
               "assigned_agent_id", "created_by_user_id", "created_at", "updated_at", "depends_on_task_ids",
               "blocked_by_task_ids", "is_blocked", "tag_ids", "tags", "custom_field_values"}


@pytest.fixture
def admin(client_for, admin_user):
    return client_for(admin_user)


def tasks_url(board, *rest):
    return "/".join([f"/api/v1/boards/{board.pk}/tasks", *(str(part) for part in rest)])


def test_a_task_shows_exactly_the_contract_fields(admin, board, org):
    from agents.models import Tag

    tag = Tag.objects.create(organization=org, name="Docs", slug="docs", color="112233")
    first = make_task(board, "First", status="done")
    task = make_task(board, "Second")
    task.tags.add(tag)
    TaskDependency.objects.create(task=task, depends_on=first)

    item = admin.get(tasks_url(board, task.pk)).json()

    assert set(item) == TASK_FIELDS
    assert item["created_at"].endswith("Z") and item["due_at"] is None
    assert item["depends_on_task_ids"] == [str(first.pk)]
    assert item["blocked_by_task_ids"] == [] and item["is_blocked"] is False
    assert item["tag_ids"] == [str(tag.pk)]
    assert item["tags"] == [{"id": str(tag.pk), "name": "Docs", "slug": "docs", "color": "112233"}]


def test_an_unfinished_dependency_shows_the_task_as_blocked(admin, board):
    first = make_task(board, "First")
    task = make_task(board, "Second")
    TaskDependency.objects.create(task=task, depends_on=first)

    item = next(t for t in admin.get(tasks_url(board)).json()["items"] if t["id"] == str(task.pk))

    assert item["is_blocked"] is True
    assert item["blocked_by_task_ids"] == [str(first.pk)]


def test_the_list_is_newest_first_in_the_envelope(admin, board):
    old, new = make_task(board, "Old"), make_task(board, "New")
    body = admin.get(tasks_url(board)).json()
    assert body["total"] == 2 and body["limit"] == 200 and body["offset"] == 0
    assert ids(body["items"]) == [str(new.pk), str(old.pk)]


def test_status_filter_takes_a_comma_list(admin, board):
    inbox, review, done = (make_task(board, s, status=s) for s in ("inbox", "review", "done"))
    body = admin.get(tasks_url(board) + "?status=review,done").json()
    assert sorted(ids(body["items"])) == sorted([str(review.pk), str(done.pk)])
    assert body["total"] == 2


def test_an_unknown_status_in_the_filter_is_422(admin, board):
    body = assert_refused(admin.get(tasks_url(board) + "?status=inbox,finished"), 422)
    assert "finished" in body["detail"]["status"][0]


def test_assignee_and_unassigned_filters(admin, board, worker):
    mine = make_task(board, "Mine", assigned_agent=worker)
    free = make_task(board, "Free")
    assert ids(admin.get(tasks_url(board) + f"?assigned_agent_id={worker.pk}").json()["items"]) == [str(mine.pk)]
    assert ids(admin.get(tasks_url(board) + "?unassigned=true").json()["items"]) == [str(free.pk)]
    assert ids(admin.get(tasks_url(board) + "?unassigned=false").json()["items"]) == [str(mine.pk)]


@pytest.mark.parametrize("query", ["assigned_agent_id=nope", "unassigned=maybe", "limit=0", "limit=201",
                                   "offset=-1", "limit=ten"])
def test_bad_filter_or_paging_values_are_422(admin, board, query):
    assert_refused(admin.get(tasks_url(board) + "?" + query), 422)


def test_paging_moves_through_the_list(admin, board):
    for n in range(5):
        make_task(board, f"T{n}")
    body = admin.get(tasks_url(board) + "?limit=2&offset=4").json()
    assert body["total"] == 5 and len(body["items"]) == 1 and body["limit"] == 2 and body["offset"] == 4


def test_an_admin_creates_a_task_with_201_and_an_activity_event(admin, board, worker, admin_user):
    response = admin.post(tasks_url(board), {"title": "Write docs", "priority": "high",
                                             "assigned_agent_id": str(worker.pk)}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["title"] == "Write docs" and body["priority"] == "high" and body["status"] == "inbox"
    assert body["assigned_agent_id"] == str(worker.pk)
    assert body["created_by_user_id"] == str(admin_user.pk)
    assert ActivityEvent.objects.filter(event_type="task.created", task_id=body["id"]).exists()


def test_an_unknown_field_is_422_and_creates_nothing(admin, board):
    body = assert_refused(admin.post(tasks_url(board), {"title": "X", "colour": "red"}, format="json"), 422)
    assert "colour" in body["detail"]
    assert not Task.objects.exists()


@pytest.mark.parametrize("payload", [{}, {"title": ""}, {"title": "X", "status": "finished"},
                                     {"title": "X", "priority": "asap"}, {"title": "X", "due_at": "soon"},
                                     {"title": "X", "tag_ids": ["not-a-uuid"]}])
def test_bad_task_values_are_422(admin, board, payload):
    assert_refused(admin.post(tasks_url(board), payload, format="json"), 422)


def test_a_task_cannot_be_created_done_past_the_approval_gate(admin, board):
    assert_refused(admin.post(tasks_url(board), {"title": "X", "status": "done"}, format="json"),
                   409, "approval_required_for_done")


def test_an_assignee_from_another_board_is_refused(admin, board, foreign_agent):
    assert_refused(admin.post(tasks_url(board), {"title": "X", "assigned_agent_id": str(foreign_agent.pk)},
                              format="json"), 422, "assignee_not_on_board")


def test_update_is_partial(admin, board):
    task = make_task(board, "Keep", description="Original", priority="low")
    response = admin.patch(tasks_url(board, task.pk), {"priority": "urgent"}, format="json")
    assert response.status_code == 200
    task.refresh_from_db()
    assert (task.title, task.description, task.priority) == ("Keep", "Original", "urgent")


def test_an_explicit_null_status_is_422(admin, board):
    task = make_task(board)
    assert_refused(admin.patch(tasks_url(board, task.pk), {"status": None}, format="json"), 422)
    task.refresh_from_db()
    assert task.status == "inbox"


def test_an_update_with_a_comment_adds_the_comment(admin, board, admin_user):
    task = make_task(board)
    response = admin.patch(tasks_url(board, task.pk), {"priority": "high", "comment": "Bumped"}, format="json")
    assert response.status_code == 200
    comment = TaskComment.objects.get(task=task)
    assert comment.message == "Bumped" and comment.author_user == admin_user


def test_a_dependency_cycle_is_409(admin, board):
    first, second = make_task(board, "First"), make_task(board, "Second")
    TaskDependency.objects.create(task=second, depends_on=first)
    assert_refused(admin.patch(tasks_url(board, first.pk), {"depends_on_task_ids": [str(second.pk)]},
                               format="json"), 409, "dependency_cycle")


def test_a_task_of_another_board_is_not_found_under_this_board(admin, board, org):
    from tests.conftest import make_board

    elsewhere = make_task(make_board(org, "Elsewhere"), "Not here")
    assert_refused(admin.get(tasks_url(board, elsewhere.pk)), 404)
    assert_refused(admin.patch(tasks_url(board, elsewhere.pk), {"title": "X"}, format="json"), 404)
    assert_refused(admin.get(tasks_url(board, uuid.uuid4())), 404)


def test_delete_is_204_and_keeps_the_history(admin, board):
    task = make_task(board)
    response = admin.delete(tasks_url(board, task.pk))
    assert response.status_code == 204
    assert not Task.objects.filter(pk=task.pk).exists()
    assert ActivityEvent.objects.filter(event_type="task.deleted", task_id=task.pk).exists()


def test_comments_list_oldest_first_with_their_authors(admin, board, client_for, member, worker):
    task = make_task(board)
    TaskComment.objects.create(task=task, message="From the worker", author_agent=worker)
    response = client_for(member).post(tasks_url(board, task.pk, "comments"), {"message": "From a member"},
                                       format="json")
    assert response.status_code == 201
    assert set(response.json()) == {"id", "message", "task_id", "agent_id", "user_id", "created_at"}

    items = admin.get(tasks_url(board, task.pk, "comments")).json()["items"]
    assert [c["message"] for c in items] == ["From the worker", "From a member"]
    assert items[0]["agent_id"] == str(worker.pk) and items[0]["user_id"] is None
    assert items[1]["user_id"] == str(member.pk) and items[1]["agent_id"] is None


def test_an_empty_comment_is_422(admin, board):
    task = make_task(board)
    assert_refused(admin.post(tasks_url(board, task.pk, "comments"), {"message": "  "}, format="json"), 422)
    assert_refused(admin.post(tasks_url(board, task.pk, "comments"), {}, format="json"), 422)
