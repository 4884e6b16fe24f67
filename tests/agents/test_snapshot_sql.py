"""The board snapshot that Postgres writes as JSON (agents.api.snapshot.written_json) says
exactly what the serializers say, whatever the tasks hold."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from rest_framework.renderers import JSONRenderer

from agents.api.snapshot import BoardSnapshotSerializer, board_snapshot, snapshot_json
from agents.models import Approval, ApprovalTask, Tag, Task, TaskDependency
from tests.conftest import make_agent, make_task, make_user, require_postgres

pytestmark = pytest.mark.postgres


def serialized(board, **page):
    return json.loads(JSONRenderer().render(BoardSnapshotSerializer(board_snapshot(board, **page)).data))


def written(board, **page):
    return json.loads(snapshot_json(board, **page))


@pytest.fixture
def varied_board(org, board):
    """Tasks with every kind of value the snapshot writes, each written differently."""
    require_postgres()
    lead = make_agent("Lead", board=board, lead=True)
    worker = make_agent("Wörker \"quoted\"", board=board)
    user = make_user("writer", org, "admin")
    same_time = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    plain = make_task(board, "Plain")
    odd = make_task(board, "Quotes \" and \\ back, tab\t, newline\n, bell\x07, emoji \U0001f680, ünïcode",
                    description="<b>not html</b>\r\n\u2028line", assigned_agent=worker, created_by_user=user,
                    priority="urgent", status="in_progress",
                    due_at=datetime(2026, 5, 1, 9, 30, 0, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))),
                    in_progress_at=datetime(2026, 4, 1, 0, 0, 0, tzinfo=UTC),
                    custom_field_values={"points": 3, "ratio": 0.25, "nested": {"a": [1, "two", None]}, "ok": True})
    done = make_task(board, "Done dependency", status="done", assigned_agent=lead)
    blocker = make_task(board, "Open dependency", status="review")
    blocked = make_task(board, "Blocked", custom_field_values={})
    for dependency in (done, blocker, plain):
        TaskDependency.objects.create(task=blocked, depends_on=dependency)
    TaskDependency.objects.create(task=odd, depends_on=done)
    # Two tasks created at the same instant: the id decides their order.
    Task.objects.filter(pk__in=[plain.pk, done.pk]).update(created_at=same_time, updated_at=same_time)
    zebra = Tag.objects.create(organization=org, name="zebra", slug="zebra", color="ff0000")
    alpha = Tag.objects.create(organization=org, name="Alpha", slug="alpha", color="00ff00")
    middle = Tag.objects.create(organization=org, name="middle", slug="middle")
    odd.tags.set([zebra, alpha, middle])
    blocked.tags.set([zebra])
    for status, tasks in (("pending", [odd, blocked]), ("approved", [odd, blocked]), ("rejected", [blocked])):
        approval = Approval.objects.create(board=board, action_type="mark_done", confidence=70, agent=lead,
                                           status=status)
        for task in tasks:
            ApprovalTask.objects.create(approval=approval, task=task, is_pending=status == "pending")
    # Pending approvals as varied: about the board (no task, no agent), with a payload and
    # scores, two at the same instant (the id decides), tasks linked in an order of their own.
    odd_text = "Reason \" \\ \t\n \U0001f680 ünïcode \u2028"
    for n in range(2):
        Approval.objects.create(board=board, action_type="board_change", confidence=100 - n, created_at=same_time,
                                payload={"why": odd_text, "nested": {"list": [1, 2.5, None, True]}, "n": n},
                                rubric_scores={"quality": 4, "risk": -1}, lead_reasoning=odd_text)
    linked = Approval.objects.create(board=board, action_type="mark_done", confidence=50, agent=worker)
    for task in (blocker, done, plain):
        ApprovalTask.objects.create(approval=linked, task=task)
    return board


def test_the_whole_snapshot_is_the_serializers_answer(varied_board):
    answer = written(varied_board)
    assert answer == serialized(varied_board)
    by_title = {task["title"]: task for task in answer["tasks"]}
    # What the comparison rests on, checked once by hand.
    blocked = by_title["Blocked"]
    assert blocked["is_blocked"] is True and len(blocked["depends_on_task_ids"]) == 3
    assert len(blocked["blocked_by_task_ids"]) == 2
    assert (blocked["approvals_count"], blocked["pending_approvals_count"]) == (3, 1)
    odd = next(task for title, task in by_title.items() if title.startswith("Quotes"))
    assert odd["due_at"] == "2026-05-01T04:00:00.000001Z"
    assert odd["in_progress_at"] == "2026-04-01T00:00:00Z"
    assert odd["is_blocked"] is False and odd["blocked_by_task_ids"] == []
    assert [tag["name"] for tag in odd["tags"]] == list(
        Tag.objects.filter(tasks__title=odd["title"]).order_by("name", "id").values_list("name", flat=True))
    assert odd["custom_field_values"]["nested"] == {"a": [1, "two", None]}
    assert odd["assignee_name"] == 'Wörker "quoted"'
    assert by_title["Plain"]["due_at"] is None and by_title["Plain"]["assigned_agent_id"] is None
    assert answer["tasks_total"] == 5
    pending = answer["pending_approvals"]
    assert [approval["status"] for approval in pending] == ["pending"] * 4
    assert pending[0]["task_titles"] == ["Open dependency", "Done dependency", "Plain"]
    assert pending[0]["task_id"] == pending[0]["task_ids"][0] == by_title["Open dependency"]["id"]
    about_the_board = [approval for approval in pending if approval["action_type"] == "board_change"]
    assert [approval["id"] for approval in about_the_board] == sorted(approval["id"] for approval in about_the_board)
    assert about_the_board[0]["payload"]["nested"] == {"list": [1, 2.5, None, True]}
    assert about_the_board[0]["rubric_scores"] == {"quality": 4, "risk": -1}
    assert (about_the_board[0]["task_id"], about_the_board[0]["task_ids"], about_the_board[0]["agent_id"]) == (
        None, [], None)
    assert about_the_board[0]["created_at"] == "2026-03-01T12:00:00Z" and about_the_board[0]["resolved_at"] is None


@pytest.mark.parametrize(("limit", "offset"), [(1, 0), (2, 1), (3, 3), (10, 0), (5, 5), (None, 2)])
def test_every_page_is_the_serializers_page(varied_board, limit, offset):
    answer = written(varied_board, limit=limit, offset=offset)
    assert answer == serialized(varied_board, limit=limit, offset=offset)
    assert answer["tasks_total"] == 5


def test_an_empty_board(board):
    require_postgres()
    answer = written(board)
    assert answer == serialized(board)
    assert (answer["tasks"], answer["tasks_total"]) == ([], 0)


def test_the_api_answers_with_the_written_snapshot(varied_board, client_for, org):
    reader = make_user("reader", org, "admin")
    response = client_for(reader).get(f"/api/v1/boards/{varied_board.pk}/snapshot?limit=2&offset=1")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == serialized(varied_board, limit=2, offset=1)
