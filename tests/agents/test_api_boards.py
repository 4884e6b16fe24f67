"""Boards and gateways through the user API, and the board snapshot."""

from __future__ import annotations

import pytest

from agents.models import ActivityEvent, Board, Gateway, Task
from tests.agents.api_helpers import assert_refused, pending_approval
from tests.conftest import make_gateway, make_org, make_task, make_user

pytestmark = pytest.mark.django_db

BOARD_FIELDS = {"id", "organization_id", "name", "slug", "description", "gateway_id", "board_group_id", "objective",
                "board_type", "success_metrics", "target_date", "goal_confirmed",
                "require_approval_for_done", "require_review_before_done", "comment_required_for_review",
                "block_status_changes_with_pending_approval", "only_lead_can_change_status", "max_agents",
                "created_at", "updated_at"}


@pytest.fixture
def admin(client_for, admin_user):
    return client_for(admin_user)


def test_an_admin_creates_a_board_with_a_slug_and_default_rules(admin, org, gateway):
    response = admin.post("/api/v1/boards", {"name": "Q3 Launch", "gateway_id": str(gateway.pk)}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == BOARD_FIELDS
    assert body["slug"] == "q3-launch" and body["organization_id"] == str(org.pk)
    assert body["gateway_id"] == str(gateway.pk)
    assert body["require_approval_for_done"] is True and body["only_lead_can_change_status"] is False
    assert ActivityEvent.objects.filter(event_type="board.created", board_id=body["id"]).exists()


def test_a_taken_slug_is_409(admin, board):
    assert_refused(admin.post("/api/v1/boards", {"name": "Other", "slug": board.slug}, format="json"),
                   409, "board_slug_taken")


def test_a_gateway_of_another_organization_is_422(admin, other_gateway):
    body = assert_refused(admin.post("/api/v1/boards", {"name": "X", "gateway_id": str(other_gateway.pk)},
                                     format="json"), 422)
    assert "gateway_id" in body["detail"]
    assert not Board.objects.filter(name="X").exists()


@pytest.mark.parametrize("payload", [{}, {"name": " "}, {"name": "X", "max_agents": 0},
                                     {"name": "X", "require_review_before_done": "perhaps"},
                                     {"name": "X", "owner": "me"}])
def test_bad_board_values_are_422(admin, payload):
    assert_refused(admin.post("/api/v1/boards", payload, format="json"), 422)


def test_a_person_in_two_organizations_names_the_one_for_a_new_board(client_for, org):
    second = make_org("Second")
    user = make_user("both", org, "admin")
    from agents.models import Membership

    Membership.objects.create(user=user, organization=second, role="owner")
    client = client_for(user)

    body = assert_refused(client.post("/api/v1/boards", {"name": "X"}, format="json"), 422)
    assert "organization_id" in body["detail"]
    response = client.post("/api/v1/boards", {"name": "X", "organization_id": str(second.pk)}, format="json")
    assert response.status_code == 201 and response.json()["organization_id"] == str(second.pk)


def test_an_admin_changes_the_rules_of_a_board(admin, board):
    response = admin.patch(f"/api/v1/boards/{board.pk}",
                           {"require_review_before_done": True, "max_agents": 3}, format="json")
    assert response.status_code == 200
    board.refresh_from_db()
    assert board.require_review_before_done is True and board.max_agents == 3
    assert board.name == "Launch"
    event = ActivityEvent.objects.get(event_type="board.updated")
    assert event.data["fields"] == ["max_agents", "require_review_before_done"]


def test_the_organization_of_a_board_cannot_be_changed(admin, board, other_org):
    assert_refused(admin.patch(f"/api/v1/boards/{board.pk}", {"organization_id": str(other_org.pk)},
                               format="json"), 422)


def test_deleting_a_board_keeps_its_history(admin, board):
    task = make_task(board)
    assert admin.delete(f"/api/v1/boards/{board.pk}").status_code == 204
    assert not Task.objects.filter(pk=task.pk).exists()
    assert ActivityEvent.objects.filter(event_type="board.deleted", board_id=board.pk).exists()


def test_members_see_the_boards_of_their_organization(client_for, member, board, other_board):
    body = client_for(member).get("/api/v1/boards").json()
    assert [b["id"] for b in body["items"]] == [str(board.pk)] and body["total"] == 1


# --- snapshot --------------------------------------------------------------------------------


def test_the_snapshot_has_the_board_its_tasks_agents_and_pending_approvals(client_for, member, board, lead,
                                                                            worker):
    held = make_task(board, "Held", assigned_agent=worker, status="in_progress")
    free = make_task(board, "Free")
    waiting = pending_approval(board, held)
    pending_approval(board, free, status="approved")

    body = client_for(member).get(f"/api/v1/boards/{board.pk}/snapshot").json()

    assert body["board"]["id"] == str(board.pk)
    tasks = {t["id"]: t for t in body["tasks"]}
    assert tasks[str(held.pk)]["assignee_name"] == "Worker"
    assert tasks[str(held.pk)]["approvals_count"] == 1 and tasks[str(held.pk)]["pending_approvals_count"] == 1
    assert tasks[str(free.pk)]["assignee_name"] is None
    assert tasks[str(free.pk)]["approvals_count"] == 1 and tasks[str(free.pk)]["pending_approvals_count"] == 0
    assert sorted(a["name"] for a in body["agents"]) == ["Lead", "Worker"]
    assert [a["id"] for a in body["pending_approvals"]] == [str(waiting.pk)]
    assert body["pending_approvals"][0]["task_titles"] == ["Held"]


def test_the_snapshot_of_another_organization_is_not_found(client_for, outsider, board):
    assert_refused(client_for(outsider).get(f"/api/v1/boards/{board.pk}/snapshot"), 404)


# --- gateways --------------------------------------------------------------------------------


def test_a_gateway_token_is_accepted_but_never_returned(admin, org):
    response = admin.post("/api/v1/gateways", {"name": "Edge", "url": "wss://edge.test:18789",
                                               "token": "gw-secret-value"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert "token" not in body and body["has_token"] is True
    assert "gw-secret-value" not in response.content.decode()
    gateway = Gateway.objects.get(pk=body["id"])
    assert gateway.token == "gw-secret-value"

    for answer in (admin.get(f"/api/v1/gateways/{gateway.pk}"), admin.get("/api/v1/gateways"),
                   admin.patch(f"/api/v1/gateways/{gateway.pk}", {"token": "rotated"}, format="json")):
        assert answer.status_code == 200
        assert "gw-secret-value" not in answer.content.decode() and "rotated" not in answer.content.decode()
    gateway.refresh_from_db()
    assert gateway.token == "rotated"


@pytest.mark.parametrize("url", ["http://edge.test", "edge.test", "wss://", ""])
def test_a_gateway_url_must_be_ws_or_wss(admin, url):
    body = assert_refused(admin.post("/api/v1/gateways", {"name": "Edge", "url": url}, format="json"), 422)
    assert "url" in body["detail"]


def test_gateway_activity_never_holds_the_token(admin, gateway):
    admin.patch(f"/api/v1/gateways/{gateway.pk}", {"token": "s3cr3t-token"}, format="json")
    event = ActivityEvent.objects.get(event_type="gateway.updated")
    assert "s3cr3t-token" not in str(event.data) and event.data["fields"] == ["token"]


def test_a_member_cannot_delete_a_gateway(client_for, member, org):
    gateway = make_gateway(org, "Keep me")
    assert_refused(client_for(member).delete(f"/api/v1/gateways/{gateway.pk}"), 403, "admin_required")
    assert Gateway.objects.filter(pk=gateway.pk).exists()


def test_a_board_of_the_outsider_is_created_in_their_organization(client_for, outsider, other_org):
    response = client_for(outsider).post("/api/v1/boards", {"name": "Mine"}, format="json")
    assert response.status_code == 201 and response.json()["organization_id"] == str(other_org.pk)


def test_the_snapshot_pages_its_tasks_when_asked_and_says_how_many_there_are(client_for, member, board, worker):
    made = [make_task(board, f"Task {n}", assigned_agent=worker) for n in range(5)]
    newest_first = [str(task.pk) for task in sorted(made, key=lambda t: (t.created_at, str(t.pk)), reverse=True)]
    client = client_for(member)

    everything = client.get(f"/api/v1/boards/{board.pk}/snapshot").json()
    page = client.get(f"/api/v1/boards/{board.pk}/snapshot?limit=2&offset=1").json()

    assert everything["tasks_total"] == 5 and len(everything["tasks"]) == 5
    assert page["tasks_total"] == 5
    assert [t["id"] for t in page["tasks"]] == [t["id"] for t in everything["tasks"]][1:3]
    assert set(page["tasks"][0]) == set(everything["tasks"][0])  # the same task shape
    assert {t["id"] for t in everything["tasks"]} == set(newest_first)
    assert page["agents"] == everything["agents"] and page["board"] == everything["board"]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=x", "offset=-1"])
def test_bad_snapshot_paging_is_422(client_for, member, board, query):
    assert_refused(client_for(member).get(f"/api/v1/boards/{board.pk}/snapshot?{query}"), 422)


def test_an_agent_reads_a_page_of_its_board_snapshot(as_agent, lead, board):
    for n in range(3):
        make_task(board, f"Task {n}")
    body = as_agent(lead).get(f"/api/v1/boards/{board.pk}/snapshot?limit=1").json()
    assert len(body["tasks"]) == 1 and body["tasks_total"] == 3


def test_the_snapshot_writes_each_task_as_the_task_serializer_writes_the_model(client_for, member, owner, board, lead):
    """The snapshot reads tasks as plain rows (agents.queries.TaskRow); each must come out
    exactly as SnapshotTaskSerializer writes the model instance, relations included."""
    from datetime import UTC, datetime, timedelta

    from agents.api.snapshot import SnapshotTaskSerializer
    from agents.models import ApprovalTask, Tag, TaskDependency

    org = board.organization
    red, blue = (Tag.objects.create(organization=org, name=name, slug=name.lower(), color=color)
                 for name, color in (("Red", "ff0000"), ("Blue", "0000ff")))
    done = make_task(board, "Done first", status="done")
    open_one = make_task(board, "Still open")
    rich = make_task(board, "Rich", description="All the fields", status="in_progress", priority="urgent",
                     assigned_agent=lead, created_by_user=owner,
                     due_at=datetime(2027, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
                     in_progress_at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC) - timedelta(microseconds=1))
    rich.tags.set([red, blue])
    TaskDependency.objects.create(task=rich, depends_on=done)
    TaskDependency.objects.create(task=rich, depends_on=open_one)
    pending_approval(board, rich, status="approved")
    pending_approval(board, rich)

    for query in ("", "?limit=2&offset=1"):
        body = client_for(member).get(f"/api/v1/boards/{board.pk}/snapshot{query}").json()
        assert body["tasks"], query
        for written in body["tasks"]:
            task = Task.objects.get(pk=written["id"])
            task.assignee_name = task.assigned_agent.name if task.assigned_agent else None
            links = ApprovalTask.objects.filter(task=task)
            task.approvals_count = links.count()
            task.pending_approvals_count = links.filter(is_pending=True).count()
            assert written == SnapshotTaskSerializer(task).data, written["title"]
    rich_written = next(t for t in client_for(member).get(f"/api/v1/boards/{board.pk}/snapshot").json()["tasks"]
                        if t["title"] == "Rich")
    assert rich_written["due_at"] == "2027-01-02T03:04:05.678000Z"
    assert rich_written["blocked_by_task_ids"] == [str(open_one.pk)] and rich_written["is_blocked"] is True
    assert [tag["name"] for tag in rich_written["tags"]] == ["Blue", "Red"]
    assert (rich_written["approvals_count"], rich_written["pending_approvals_count"]) == (2, 1)
    assert rich_written["assignee_name"] == lead.name
