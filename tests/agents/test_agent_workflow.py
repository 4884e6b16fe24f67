"""The task workflow seen from the agents' side, through the agent API only (a person
resolves the approval, as only people may)."""

from __future__ import annotations

import pytest

from agents import rules
from agents.models import Approval
from agents.tokens import mint_token
from tests.agents.agent_client import agent_client
from tests.conftest import make_agent, make_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_api(lead):
    return agent_client(mint_token(lead))


@pytest.fixture
def worker_api(worker):
    return agent_client(mint_token(worker))


def tasks_url(board, task=None):
    base = f"/api/v1/agent/boards/{board.id}/tasks"
    return f"{base}/{task}" if task else base


def test_a_task_travels_from_lead_to_worker_to_review_and_back_to_done(board, lead, worker, owner,
                                                                       lead_api, worker_api):
    created = lead_api.post(tasks_url(board), {"title": "Write the release notes", "priority": "high"},
                            format="json")
    assert created.status_code == 201
    task_id = created.json()["id"]
    assert created.json()["status"] == "inbox"

    inbox = worker_api.get(tasks_url(board), {"status": "inbox", "unassigned": "true"}).json()
    assert [item["id"] for item in inbox["items"]] == [task_id]

    taken = worker_api.patch(tasks_url(board, task_id), {"status": "in_progress"}, format="json")
    assert taken.status_code == 200
    assert taken.json()["assigned_agent_id"] == str(worker.id)
    assert taken.json()["in_progress_at"] is not None

    handed_in = worker_api.patch(tasks_url(board, task_id),
                                 {"status": "review", "comment": "Draft is in the doc."}, format="json")
    assert handed_in.status_code == 200
    assert handed_in.json()["assigned_agent_id"] == str(lead.id)

    waiting = lead_api.get(tasks_url(board), {"status": "review", "assigned_agent_id": str(lead.id)}).json()
    assert [item["id"] for item in waiting["items"]] == [task_id]
    comments = lead_api.get(f"{tasks_url(board, task_id)}/comments").json()
    assert [c["message"] for c in comments["items"]] == ["Draft is in the doc."]
    assert comments["items"][0]["agent_id"] == str(worker.id)

    sent_back = lead_api.patch(tasks_url(board, task_id),
                               {"status": "inbox", "comment": "Add the upgrade steps."}, format="json")
    assert sent_back.status_code == 200
    assert sent_back.json()["status"] == "inbox"
    assert sent_back.json()["assigned_agent_id"] == str(worker.id)

    assert worker_api.patch(tasks_url(board, task_id), {"status": "in_progress"}, format="json").status_code == 200
    too_early = worker_api.patch(tasks_url(board, task_id), {"status": "done"}, format="json")
    assert too_early.status_code == 409
    assert too_early.json()["detail"]["code"]

    asked = worker_api.post(f"/api/v1/agent/boards/{board.id}/approvals",
                            {"action_type": "mark_done", "task_id": task_id, "confidence": 85,
                             "lead_reasoning": "Upgrade steps added; notes reviewed."}, format="json")
    assert asked.status_code == 201
    assert asked.json()["status"] == "pending"
    assert asked.json()["agent_id"] == str(worker.id)
    assert asked.json()["task_ids"] == [task_id]

    rules.resolve_approval(owner, Approval.objects.get(pk=asked.json()["id"]), "approved")

    approved = worker_api.get(f"/api/v1/agent/boards/{board.id}/approvals", {"status": "approved"}).json()
    assert [a["id"] for a in approved["items"]] == [asked.json()["id"]]
    done = worker_api.patch(tasks_url(board, task_id), {"status": "done"}, format="json")
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    assert done.json()["assigned_agent_id"] == str(worker.id)


def test_the_lead_hears_about_the_decision_in_board_memory(board, lead, worker, owner, lead_api, worker_api):
    task = make_task(board, "Publish", assigned_agent=worker, status="in_progress")
    asked = worker_api.post(f"/api/v1/agent/boards/{board.id}/approvals",
                            {"action_type": "publish", "task_id": str(task.id), "confidence": 70,
                             "payload": {"reason": "Ready to go."}}, format="json")
    rules.resolve_approval(owner, Approval.objects.get(pk=asked.json()["id"]), "rejected")

    memory = lead_api.get(f"/api/v1/agent/boards/{board.id}/memory").json()["items"]

    assert any("rejected" in note["content"] and lead.name in note["content"] for note in memory)


@pytest.mark.parametrize("status", ["approved", "rejected"])
def test_an_agent_cannot_create_an_approval_that_is_already_resolved(board, worker, worker_api, status):
    task = make_task(board, "Self-approve", assigned_agent=worker)

    response = worker_api.post(f"/api/v1/agent/boards/{board.id}/approvals",
                               {"action_type": "mark_done", "task_id": str(task.id), "confidence": 100,
                                "status": status, "lead_reasoning": "I say so."}, format="json")

    assert response.status_code == 422
    assert "status" in str(response.json()["detail"])
    assert not Approval.objects.exists()


def test_an_agent_cannot_resolve_an_approval(board, worker, worker_api):
    task = make_task(board, "Self-approve", assigned_agent=worker)
    asked = worker_api.post(f"/api/v1/agent/boards/{board.id}/approvals",
                            {"action_type": "mark_done", "task_id": str(task.id), "confidence": 90,
                             "lead_reasoning": "Done."}, format="json").json()
    approval = Approval.objects.get(pk=asked["id"])

    through_agent_api = worker_api.patch(f"/api/v1/agent/boards/{board.id}/approvals/{approval.id}",
                                         {"status": "approved"}, format="json")
    through_user_api = worker_api.patch(f"/api/v1/boards/{board.id}/approvals/{approval.id}",
                                        {"status": "approved"}, format="json")
    with pytest.raises(rules.RuleViolation) as refused:
        rules.resolve_approval(worker, approval, "approved")

    assert through_agent_api.status_code in (404, 405)
    assert through_user_api.status_code in (401, 403)
    assert refused.value.code == "only_people_resolve_approvals"
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_an_approval_needs_a_reason(board, worker, worker_api):
    task = make_task(board, "No reason", assigned_agent=worker)

    response = worker_api.post(f"/api/v1/agent/boards/{board.id}/approvals",
                               {"action_type": "mark_done", "task_id": str(task.id), "confidence": 50},
                               format="json")

    assert response.status_code == 422
    assert response.json()["detail"]["code"] == "approval_reason_required"


def test_the_reason_an_agent_gives_reads_back_as_lead_reasoning_and_payload_reason(board, worker, lead_api,
                                                                                    worker_api):
    task = make_task(board, "Reasoned", assigned_agent=worker)

    asked = worker_api.post(f"/api/v1/agent/boards/{board.id}/approvals",
                            {"action_type": "mark_done", "task_id": str(task.id), "confidence": 85,
                             "lead_reasoning": "All checks are green.", "payload": {"pr": 12}}, format="json")

    assert asked.status_code == 201
    assert asked.json()["lead_reasoning"] == "All checks are green."
    assert asked.json()["payload"] == {"pr": 12, "reason": "All checks are green."}
    listed = lead_api.get(f"/api/v1/agent/boards/{board.id}/approvals").json()["items"]
    assert [(item["lead_reasoning"], item["payload"]["reason"]) for item in listed] == [
        ("All checks are green.", "All checks are green.")]


def test_a_reason_already_in_the_payload_is_kept(board, worker, worker_api):
    task = make_task(board, "Two reasons", assigned_agent=worker)

    asked = worker_api.post(f"/api/v1/agent/boards/{board.id}/approvals",
                            {"action_type": "mark_done", "task_id": str(task.id), "confidence": 85,
                             "lead_reasoning": "Summary.", "payload": {"reason": "The long story."}}, format="json")

    assert asked.status_code == 201
    assert asked.json()["payload"] == {"reason": "The long story."}
    assert asked.json()["lead_reasoning"] == "Summary."


def test_a_task_has_one_pending_approval_at_a_time(board, worker, worker_api):
    task = make_task(board, "Once", assigned_agent=worker)
    body = {"action_type": "mark_done", "task_id": str(task.id), "confidence": 50, "lead_reasoning": "Ready."}
    first = worker_api.post(f"/api/v1/agent/boards/{board.id}/approvals", body, format="json")

    second = worker_api.post(f"/api/v1/agent/boards/{board.id}/approvals", body, format="json")

    assert second.status_code == 409
    assert second.json()["detail"]["code"] == "task_has_pending_approval"
    assert second.json()["detail"]["conflicting_approval_ids"] == [first.json()["id"]]


def test_a_worker_cannot_move_a_task_assigned_to_someone_else(board, lead, worker, worker_api):
    from tests.conftest import make_agent

    colleague = make_agent("Colleague", board=board)
    task = make_task(board, "Theirs", assigned_agent=colleague, status="in_progress")

    response = worker_api.patch(tasks_url(board, task.id), {"status": "review"}, format="json")

    assert response.status_code == 403
    assert response.json()["detail"]["code"] == "task_assigned_to_someone_else"


def test_a_worker_comments_on_a_task_held_by_someone_else(board, worker, worker_api):
    from tests.conftest import make_agent

    colleague = make_agent("Colleague", board=board)
    task = make_task(board, "Theirs", assigned_agent=colleague, status="in_progress")

    response = worker_api.post(f"{tasks_url(board, task.id)}/comments",
                               {"message": "The fixture you need is in conftest.py."}, format="json")

    assert response.status_code == 201
    assert response.json()["agent_id"] == str(worker.id)


def test_a_worker_patch_with_only_a_comment_on_someone_elses_task_is_a_comment(board, worker, worker_api):
    from tests.conftest import make_agent

    colleague = make_agent("Colleague", board=board)
    task = make_task(board, "Theirs", assigned_agent=colleague, status="in_progress")

    response = worker_api.patch(tasks_url(board, task.id), {"comment": "Answering @Worker: use the v2 client."},
                                format="json")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["assigned_agent_id"]) == ("in_progress", str(colleague.id))
    assert task.comments.get().author_agent == worker


def test_a_worker_patch_changing_someone_elses_task_is_refused_with_its_comment(board, worker_api):
    from tests.conftest import make_agent

    colleague = make_agent("Colleague", board=board)
    task = make_task(board, "Theirs", assigned_agent=colleague, status="in_progress")

    response = worker_api.patch(tasks_url(board, task.id), {"status": "review", "comment": "Finished it for you."},
                                format="json")

    assert response.status_code == 403
    assert response.json()["detail"]["code"] == "task_assigned_to_someone_else"
    assert not task.comments.exists()
    task.refresh_from_db()
    assert task.status == "in_progress"


def test_a_worker_cannot_create_or_delete_tasks(board, worker_api):
    task = make_task(board, "Stay")

    created = worker_api.post(tasks_url(board), {"title": "Mine"}, format="json")
    deleted = worker_api.delete(tasks_url(board, task.id))

    assert created.status_code == deleted.status_code == 403
    assert created.json()["detail"]["code"] == deleted.json()["detail"]["code"] == "agent_role_not_allowed"


def test_an_explicit_null_status_is_422(board, worker, worker_api):
    task = make_task(board, "Null")

    response = worker_api.patch(tasks_url(board, task.id), {"status": None}, format="json")

    assert response.status_code == 422
    assert "status" in str(response.json()["detail"])


def test_unknown_status_filters_are_422(board, worker_api):
    response = worker_api.get(tasks_url(board), {"status": "inbox,finished"})

    assert response.status_code == 422
    assert "status" in response.json()["detail"]


def test_a_comma_list_of_statuses_filters_tasks(board, worker_api):
    make_task(board, "A", status="inbox")
    make_task(board, "B", status="review")
    make_task(board, "C", status="done")

    items = worker_api.get(tasks_url(board), {"status": "inbox,review"}).json()["items"]

    assert sorted(item["title"] for item in items) == ["A", "B"]


def test_the_task_list_costs_a_fixed_number_of_queries(board, worker, worker_api, django_assert_max_num_queries):
    for number in range(25):
        make_task(board, f"Task {number}")
    worker_api.get("/api/v1/agent/healthz")  # the first call writes last_seen_at; later ones need not

    # Token with its board, count, page, dependencies, tags.
    with django_assert_max_num_queries(5):
        response = worker_api.get(tasks_url(board))

    assert response.json()["total"] == 25


def test_a_worker_cannot_block_another_workers_task_with_an_approval(board, worker, worker_api):
    holder = make_agent("Holder", board=board)
    task = make_task(board, "Theirs", status="in_progress", assigned_agent=holder)

    response = worker_api.post(f"/api/v1/agent/boards/{board.id}/approvals",
                               {"action_type": "mark_done", "task_id": str(task.id), "confidence": 50,
                                "lead_reasoning": "Looks finished to me."}, format="json")

    assert response.status_code == 403
    assert response.json()["detail"]["code"] == "approval_task_not_held"
    assert not Approval.objects.exists()
