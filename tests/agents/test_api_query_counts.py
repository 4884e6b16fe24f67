"""Every list of the user API, and the board and group snapshots, costs a fixed number of queries.

The same bound holds for a board of 3 tasks and one of 30 (with dependencies, tags,
approvals, comments, memory, agents and activity to match, and a group of as many boards
with as many notes), so nothing is loaded per row: a query per row would cost 30 more on
the large board, far over every bound.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import (
    ActivityEvent,
    Agent,
    Approval,
    ApprovalTask,
    Board,
    BoardAccess,
    BoardGroup,
    BoardGroupMemory,
    BoardMemory,
    CustomFieldDefinition,
    Gateway,
    Invitation,
    Membership,
    Organization,
    Tag,
    Task,
    TaskComment,
    TaskDependency,
    User,
)
from missioncontrol.api import pagination

pytestmark = pytest.mark.django_db

SIZES = [3, 30]
# The default page, made smaller than the large board (as 200 is smaller than a real large
# one), so the large lists are still cut to a page.
PAGE = 10


@pytest.fixture(autouse=True)
def small_page(monkeypatch):
    monkeypatch.setattr(pagination, "DEFAULT_LIMIT", PAGE)

# Per request: the session and its user, the caller's membership or the board, then the
# list's count, its page and the page's relations.
MAX_QUERIES = {
    "/api/v1/boards": 5,
    "/api/v1/gateways": 5,
    "/api/v1/agents": 5,
    "/api/v1/tags": 5,
    "/api/v1/activity": 5,
    "/api/v1/boards/{board}/tasks": 7,
    "/api/v1/boards/{board}/tasks?status=inbox,review": 7,
    "/api/v1/boards/{board}/tasks?overdue=true": 7,
    "/api/v1/boards/{board}/tasks?due_after=2000-01-01T00:00:00Z&due_before=2100-01-01T00:00:00Z": 7,
    "/api/v1/boards/{board}/tasks/{task}/comments": 6,
    "/api/v1/boards/{board}/approvals": 6,
    "/api/v1/boards/{board}/approvals?status=pending": 6,
    "/api/v1/boards/{board}/memory": 5,
    # One more than the lists above it: the board's custom fields.
    "/api/v1/boards/{board}/snapshot": 11,
    "/api/v1/custom-fields": 6,
    "/api/v1/custom-fields?board_id={board}": 6,
    # Five of them the trends per day: the activity, three for approvals, the deliveries.
    "/api/v1/metrics/dashboard?range_key=30d": 14,
    "/api/v1/metrics/dashboard?range_key=90d": 14,
    "/api/v1/board-groups": 5,
    # One more than the lists: whether the caller reaches every board of the group.
    "/api/v1/board-groups/{group}/memory": 6,
    "/api/v1/board-groups/{group}/snapshot": 8,
    "/api/v1/boards/{board}/group-memory": 6,
    "/api/v1/boards/{board}/group-snapshot?include_self=true&include_done=true": 9,
    "/api/v1/organizations": 5,
    # The organization, then the members' count, page and board grants.
    "/api/v1/organizations/{org}/members": 6,
    # The organization, the admin check, the count and the page.
    "/api/v1/organizations/{org}/invitations": 6,
}
# As the board's lead calls them: the token lookup, the presence stamp, the board and its
# group, then the page (and its count) or the snapshot's five queries.
AGENT_MAX_QUERIES = {
    "/api/v1/boards/{board}/group-memory": 6,
    "/api/v1/boards/{board}/group-snapshot": 9,
}


def populate(org, gateway, board, size: int) -> dict[str, object]:
    """``size`` of every kind of object, made with bulk inserts."""
    now = timezone.now()
    tags = Tag.objects.bulk_create(Tag(organization=org, name=f"Tag {n}", slug=f"tag-{n}") for n in range(size))
    agents = Agent.objects.bulk_create(
        Agent(organization=org, board=board, gateway=gateway, name=f"Agent {n}", last_seen_at=now)
        for n in range(size))
    statuses = Task.Status.values
    fields = CustomFieldDefinition.objects.bulk_create(
        CustomFieldDefinition(organization=org, field_key=f"field_{n}", label=f"Field {n}", field_type="number")
        for n in range(size))
    CustomFieldDefinition.boards.through.objects.bulk_create(
        CustomFieldDefinition.boards.through(customfielddefinition=field, board=board) for field in fields)
    tasks = Task.objects.bulk_create(
        Task(board=board, title=f"Task {n}", status=statuses[n % 4], assigned_agent=agents[n % len(agents)],
             created_at=now - timedelta(seconds=n), updated_at=now,
             # Every other task overdue (those are in inbox or review, never done).
             due_at=now + timedelta(days=1 if n % 2 else -1),
             custom_field_values={field.field_key: n for field in fields[:5]})
        for n in range(size))
    TaskDependency.objects.bulk_create(TaskDependency(task=tasks[n], depends_on=tasks[n - 1]) for n in range(1, size))
    Task.tags.through.objects.bulk_create(Task.tags.through(task=task, tag=tags[n % len(tags)])
                                          for n, task in enumerate(tasks))
    approvals = Approval.objects.bulk_create(
        Approval(board=board, action_type="mark_done", confidence=50, agent=agents[0],
                 status="pending" if n % 2 else "approved") for n in range(size))
    ApprovalTask.objects.bulk_create(ApprovalTask(approval=a, task=tasks[n], is_pending=a.status == "pending")
                                     for n, a in enumerate(approvals))
    TaskComment.objects.bulk_create(TaskComment(task=tasks[0], message=f"Comment {n}", author_agent=agents[0])
                                    for n in range(size))
    BoardMemory.objects.bulk_create(BoardMemory(board=board, content=f"Note {n}", tags=["note"])
                                    for n in range(size))
    group = BoardGroup.objects.create(organization=org, name="Group", slug="group")
    BoardGroup.objects.bulk_create(BoardGroup(organization=org, name=f"Group {n}", slug=f"group-{n}")
                                   for n in range(size))
    board.group = group
    board.save()
    others = Board.objects.bulk_create(Board(organization=org, name=f"Board {n}", slug=f"board-{n}", group=group)
                                       for n in range(size))
    Task.objects.bulk_create(Task(board=other, title=f"Other {n}", assigned_agent=agents[n % len(agents)])
                             for n, other in enumerate(others) for _ in range(2))
    BoardGroupMemory.objects.bulk_create(BoardGroupMemory(group=group, board=board, content=f"Shared {n}",
                                                          tags=["chat"], is_chat=True) for n in range(size))
    Gateway.objects.bulk_create(Gateway(organization=org, name=f"GW {n}", url="ws://gw.test") for n in range(size))
    events = []
    for n, task in enumerate(tasks):
        events.append(ActivityEvent(event_type="task.status_changed", actor_type="system", organization_id=org.pk,
                                    board_id=board.pk, task_id=task.pk, data={"from": "inbox", "to": "in_progress"},
                                    created_at=now - timedelta(hours=2, seconds=n)))
        events.append(ActivityEvent(event_type="task.status_changed", actor_type="system", organization_id=org.pk,
                                    board_id=board.pk, task_id=task.pk, data={"from": "review", "to": "done"},
                                    created_at=now - timedelta(hours=1, seconds=n)))
    ActivityEvent.objects.bulk_create(events)
    people = User.objects.bulk_create(User(username=f"person-{n}") for n in range(size))
    memberships = Membership.objects.bulk_create(
        Membership(user=person, organization=org, all_boards_read=False, all_boards_write=False) for person in people)
    BoardAccess.objects.bulk_create(BoardAccess(membership=m, board=board, can_write=n % 2 == 0)
                                    for n, m in enumerate(memberships))
    Invitation.objects.bulk_create(Invitation(organization=org, token_key=f"{n:016x}", token_digest="0" * 64,
                                              expires_at=now + timedelta(days=1)) for n in range(size))
    admin = Membership.objects.filter(organization=org, role="admin").first()
    if admin is not None:  # the people's lists are read by the admin; the agent pins have none
        more = Organization.objects.bulk_create(Organization(name=f"Org {n}", slug=f"org-{n}") for n in range(size))
        Membership.objects.bulk_create(Membership(user=admin.user, organization=o, role="member") for o in more)
    return {"board": board.pk, "task": tasks[0].pk, "group": group.pk, "org": org.pk}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("path", list(MAX_QUERIES))
def test_a_list_costs_the_same_queries_whatever_its_size(client_for, admin_user, org, gateway, board,
                                                         django_assert_max_num_queries, path, size):
    names = populate(org, gateway, board, size)
    client = client_for(admin_user)
    url = path.format(**names)

    with django_assert_max_num_queries(MAX_QUERIES[path]):
        response = client.get(url)

    assert response.status_code == 200, response.content
    body = response.json()
    if "items" in body:
        assert len(body["items"]) == min(body["total"], PAGE)
        assert body["total"] >= (size // 2 if "status=" in path or "overdue=" in path else size)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("path", list(AGENT_MAX_QUERIES))
def test_a_group_route_costs_an_agent_the_same_queries_whatever_its_size(org, gateway, board, as_agent, path, size,
                                                                          django_assert_max_num_queries):
    from tests.conftest import make_agent

    names = populate(org, gateway, board, size)
    client = as_agent(make_agent("Group lead", board=board, lead=True))

    with django_assert_max_num_queries(AGENT_MAX_QUERIES[path]):
        response = client.get(path.format(**names))

    assert response.status_code == 200, response.content
    body = response.json()
    if "items" in body:
        assert (len(body["items"]), body["total"]) == (min(size, PAGE), size)
    else:
        assert len(body["boards"]) == size
        assert all(len(item["tasks"]) == 2 for item in body["boards"])


@pytest.mark.parametrize("size", SIZES)
def test_the_snapshot_holds_every_task_of_a_large_board(client_for, admin_user, org, gateway, board, size):
    populate(org, gateway, board, size)
    body = client_for(admin_user).get(f"/api/v1/boards/{board.pk}/snapshot").json()
    assert len(body["tasks"]) == size
    assert len(body["pending_approvals"]) == size // 2
    assert len(body["agents"]) == size
    blocked = [t for t in body["tasks"] if t["depends_on_task_ids"]]
    assert len(blocked) == size - 1

