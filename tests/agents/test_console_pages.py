"""Every console page: who may see it, what it shows, and how many queries it costs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agents import activity, rules
from agents.models import (
    Approval,
    ApprovalTask,
    Board,
    CustomFieldDefinition,
    Tag,
    Task,
    TaskComment,
    TaskDependency,
)
from tests.conftest import make_agent, make_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]


def page_urls(board, task):
    return [
        reverse("console:dashboard"),
        reverse("console:boards"),
        reverse("console:board", args=[board.pk]),
        reverse("console:board", args=[board.pk]) + "?status=inbox",
        reverse("console:board", args=[board.pk]) + "?view=list&sort=-due",
        reverse("console:board", args=[board.pk]) + "?view=kanban&q=task&priority=medium&due=none&assignee=unassigned",
        reverse("console:board", args=[board.pk]) + "?view=list&q=task&tag=ops&status=inbox&sort=priority",
        reverse("console:board_edit", args=[board.pk]),
        reverse("console:task", args=[board.pk, task.pk]),
        reverse("console:approvals"),
        reverse("console:agents"),
        reverse("console:gateways"),
        reverse("console:activity"),
        reverse("webhooks_console:webhooks", args=[board.pk]),
        reverse("console:board_memory", args=[board.pk]),
        reverse("console:custom_fields"),
        reverse("console:organizations"),
        reverse("console:organization", args=[board.organization_id]),
        reverse("console:profile"),
        reverse("ops_console:operations"),
    ]


def board_scoped_urls(board, task):
    return [
        reverse("console:board", args=[board.pk]),
        reverse("console:board_edit", args=[board.pk]),
        reverse("console:board_live", args=[board.pk]),
        reverse("console:task", args=[board.pk, task.pk]),
        reverse("webhooks_console:webhooks", args=[board.pk]),
        reverse("console:board_memory", args=[board.pk]),
    ]


def test_anonymous_visitors_are_sent_to_sign_in_from_every_page(client, board):
    task = make_task(board, "Write docs")
    for url in page_urls(board, task):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url


def test_an_owner_sees_every_page(client, owner, board, lead, worker):
    task = make_task(board, "Write docs", assigned_agent=worker)
    client.force_login(owner)
    for url in page_urls(board, task):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"Sign out" in response.content, url


def test_an_outsider_gets_404_for_another_organizations_board_task_and_webhooks(client, outsider, board):
    task = make_task(board, "Secret plan")
    client.force_login(outsider)
    for url in board_scoped_urls(board, task):
        assert client.get(url).status_code == 404, url


def test_a_task_of_one_board_is_not_found_under_another_board(client, owner, org, board):
    from tests.conftest import make_board

    elsewhere = make_board(org, "Elsewhere")
    task = make_task(board, "Here")
    client.force_login(owner)
    assert client.get(reverse("console:task", args=[elsewhere.pk, task.pk])).status_code == 404


def test_a_member_sees_only_their_organizations_boards_agents_and_activity(
        client, member, owner, outsider, board, other_board, lead, foreign_agent):
    activity.record("board.updated", actor=owner, board=board, message="Mine changed")
    activity.record("board.updated", actor=outsider, board=other_board, message="Theirs changed")
    client.force_login(member)

    boards_html = client.get(reverse("console:boards")).content.decode()
    assert "Launch" in boards_html and "Globex board" not in boards_html

    agents_html = client.get(reverse("console:agents")).content.decode()
    assert "Lead" in agents_html and "Foreign worker" not in agents_html

    activity_html = client.get(reverse("console:activity")).content.decode()
    assert "Mine changed" in activity_html and "Theirs changed" not in activity_html

    dashboard_html = client.get(reverse("console:dashboard")).content.decode()
    assert "Globex" not in dashboard_html


def test_a_member_cannot_open_the_board_forms_meant_for_admins(client, member, board):
    client.force_login(member)
    boards_html = client.get(reverse("console:boards")).content.decode()
    assert "New board" not in boards_html
    for response in (client.get(reverse("console:board_create")),
                     client.post(reverse("console:board_create"), {"name": "Sneaky", "max_agents": 3})):
        assert response.status_code == 403
        assert b"Only an owner or admin of an organization may create a board." in response.content
    assert not Board.objects.filter(name="Sneaky").exists()
    response = client.get(reverse("console:board_edit", args=[board.pk]))
    assert response.status_code == 403
    assert b"Only an owner or admin" in response.content


def test_pages_carry_no_inline_script_or_style(client, owner, board):
    task = make_task(board, "Write docs")
    client.force_login(owner)
    for url in page_urls(board, task):
        html = client.get(url).content.decode()
        assert "<script>" not in html and " style=" not in html and "<style" not in html, url
        assert "onclick=" not in html and "onsubmit=" not in html, url


def test_times_are_relative_with_the_exact_time_on_hover(client, owner, board):
    task = make_task(board, "Write docs")
    client.force_login(owner)
    html = client.get(reverse("console:task", args=[board.pk, task.pk])).content.decode()
    assert 'data-relative>just now</time>' in html
    assert 'title="' + task.created_at.strftime("%Y-%m-%d %H:%M:%S UTC") + '"' in html


def test_empty_pages_say_what_to_do_next(client, owner, org):
    client.force_login(owner)
    assert b"Create your first board" in client.get(reverse("console:dashboard")).content
    assert b"Create a board" in client.get(reverse("console:boards")).content
    assert b"Nothing waiting for a decision" in client.get(reverse("console:approvals")).content
    assert b"No agents yet" in client.get(reverse("console:agents")).content
    assert b"No activity yet" in client.get(reverse("console:activity")).content


def test_the_board_shows_cards_with_assignee_priority_blocked_and_approval_badges(client, owner, board, lead, worker):
    first = make_task(board, "Draft outline", status="in_progress", assigned_agent=worker, priority="urgent")
    blocked = make_task(board, "Publish", priority="high")
    TaskDependency.objects.create(task=blocked, depends_on=first)
    rules.request_approval(worker, board, {"action_type": "mark_done", "task_id": str(first.pk),
                                           "lead_reasoning": "Outline complete.", "confidence": 90})
    client.force_login(owner)
    html = client.get(reverse("console:board", args=[board.pk])).content.decode()
    assert "Draft outline" in html and "Worker" in html and "Urgent" in html
    assert "Blocked" in html and "Awaiting approval" in html


def test_a_long_column_shows_its_most_recent_cards_and_links_to_the_full_list(client, owner, board):
    for number in range(45):
        make_task(board, f"Task {number}")
    client.force_login(owner)
    html = client.get(reverse("console:board", args=[board.pk])).content.decode()
    assert "Show all 45 in inbox" in html
    listing = client.get(reverse("console:board", args=[board.pk]) + "?status=inbox&page=1").content.decode()
    assert "1–50 of 45" not in listing and "Task 44" in listing


def test_lists_are_paginated(client, owner, board):
    for number in range(60):
        activity.record("board.updated", actor=owner, board=board, message=f"Change {number}")
    client.force_login(owner)
    first = client.get(reverse("console:activity")).content.decode()
    assert "Change 59" in first and "Change 0<" not in first and "Page 1 of 2" in first
    second = client.get(reverse("console:activity") + "?page=2").content.decode()
    assert "Change 0" in second


def test_the_activity_timeline_filters_by_board_type_and_actor(client, owner, org, board, worker):
    import re

    from tests.conftest import make_board

    def shown(response) -> str:
        # The words a reader sees: sentences link their actor and object.
        return re.sub(r"<(?!/?(li|div|ol)\b)[^>]+>", "", response.content.decode())

    other = make_board(org, "Other")
    activity.record("board.updated", actor=owner, board=board, message="Board renamed")
    activity.record("task.created", actor=worker, board=board, message="Worker made a task")
    activity.record("board.updated", actor=owner, board=other, message="Other board renamed")
    client.force_login(owner)
    url = reverse("console:activity")

    by_board = shown(client.get(url, {"board_id": str(other.pk)}))
    assert "Other board renamed" in by_board and "Board renamed<" not in by_board

    by_type = shown(client.get(url, {"type": "task."}))
    assert "Worker made a task" in by_type and "renamed" not in by_type

    by_actor = shown(client.get(url, {"actor": f"agent:{worker.pk}"}))
    assert "Worker made a task" in by_actor and "renamed" not in by_actor

    by_person = shown(client.get(url, {"actor": f"user:{owner.pk}"}))
    assert "Worker made a task" not in by_person and "Other board renamed" in by_person


def _busy_board(board, lead, worker, owner, tasks: int, round_: int = 0):
    made = [make_task(board, f"Task {round_}-{n}", status=["inbox", "in_progress", "review", "done"][n % 4],
                      assigned_agent=worker if n % 2 else None) for n in range(tasks)]
    for before, after in zip(made, made[1:10], strict=False):
        TaskDependency.objects.create(task=after, depends_on=before)
    tag, _ = Tag.objects.get_or_create(organization=board.organization, slug="ops",
                                       defaults={"name": "Ops", "color": "aa3300"})
    other_tag = Tag.objects.create(organization=board.organization, slug=f"round-{round_}", name=f"Round {round_}")
    for task in made:
        task.tags.add(tag, other_tag)
    for task in made[:6]:
        approval = Approval.objects.create(board=board, agent=worker, action_type="mark_done", lead_reasoning="ok",
                                           confidence=70)
        ApprovalTask.objects.create(approval=approval, task=task)
        TaskComment.objects.create(task=task, message="note", author_agent=worker)
        activity.record("task.updated", actor=worker, task=task, board=board, message="changed")
    for n in range(4):
        make_agent(f"Helper {round_}-{n}", board=board)
        definition = CustomFieldDefinition.objects.create(organization=board.organization, label=f"Field {round_}-{n}",
                                                          field_key=f"field_{round_}_{n}", field_type="number")
        definition.boards.add(board)
        for task in made:
            task.custom_field_values[definition.field_key] = n
    Task.objects.bulk_update(made, ["custom_field_values"])
    return made[0]


# Queries per page, whatever the amount of data: session, user, the page's own reads (the
# board's and its columns': one more for whether its agents are paused; one for the board's
# custom fields on the board and task pages, two on the board form: its choices and its ticks;
# one more there for its menu of board groups; the dashboard's recent activity, the activity
# page and the task's history up to three more, for the boards, tasks and agents their
# sentences link; one for the tags of the board's cards; one on the task page for the
# board's agents its Markdown's @mentions link; on the dashboard, five for its trends per
# day). The layout reads the organization switcher and the pending-approval count in one
# query on every page, which the dashboard's live fingerprint and the activity page also use
# for their organizations (agents.console.workspace). The board's list view (a column in
# full is one) reads the organization's tags for its tag menu and the tags of its rows: two
# more than the column list had before it became the list view. The live pages whose ETag is
# their change stamp (activity, board memory, the agents list, the task page) read it once
# (agents.live), and so does the board's kanban, whose fingerprint includes it.
QUERY_BOUNDS = {"dashboard": 23, "boards": 7, "board": 16, "column": 12, "list": 12, "board_filtered": 14,
                "list_filtered": 12, "board_edit": 10, "task": 20,
                "approvals": 9, "agents": 10, "gateways": 8, "activity": 12, "webhooks": 9, "memory": 8,
                "custom_fields": 10, "organizations": 5, "organization": 11, "profile": 5, "operations": 10}


def test_every_page_renders_with_a_number_of_queries_that_does_not_grow_with_the_data(client, owner, board, lead,
                                                                                      worker):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    task = _busy_board(board, lead, worker, owner, 8)
    client.force_login(owner)
    client.get(reverse("console:dashboard"))  # the session row is read the same way from now on

    def counts() -> list[int]:
        found = []
        for url in page_urls(board, task):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200, url
            found.append(len(queries.captured_queries))
        return found

    small = counts()
    _busy_board(board, lead, worker, owner, 120, round_=1)
    large = counts()
    # The operations page reads probes (some cache their answer for a while), not board data.
    assert large[:-1] == small[:-1]
    for name, count in zip(QUERY_BOUNDS, large, strict=True):
        assert count <= QUERY_BOUNDS[name], (name, count)


def test_an_unknown_console_page_answers_an_html_404_in_the_layout(client, member):
    client.force_login(member)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"There is nothing here" in response.content and b"Sign out" in response.content


def test_the_api_keeps_answering_json_404s(client, member):
    client.force_login(member)
    response = client.get("/api/v1/no-such-route")
    assert response.status_code == 404 and response.json()["detail"] == "Not found."


def test_members_get_the_task_controls_but_not_the_board_settings(client, member, board, worker):
    task = make_task(board, "Shared work", assigned_agent=worker)
    rules.request_approval(worker, board, {"action_type": "mark_done", "task_id": str(task.pk),
                                           "lead_reasoning": "Check.", "confidence": 50})
    client.force_login(member)
    board_html = client.get(reverse("console:board", args=[board.pk])).content.decode()
    assert "Create task" in board_html and ">Move</button>" in board_html and "Edit board" not in board_html
    task_html = client.get(reverse("console:task", args=[board.pk, task.pk])).content.decode()
    assert "Post comment" in task_html and "Save changes" in task_html
    queue = client.get(reverse("console:approvals")).content.decode()
    assert "Check." in queue and ">Approve</button>" in queue


def test_form_fields_are_labelled_and_described_for_assistive_technology(client, owner, board):
    client.force_login(owner)
    html = client.get(reverse("console:board_edit", args=[board.pk])).content.decode()
    assert '<label for="id_name">' in html
    assert 'aria-describedby="id_require_review_before_done_helptext"' in html
    assert 'id="id_require_review_before_done_helptext"' in html
    assert 'aria-describedby="id_objective_helptext"' in html and 'id="id_objective_helptext"' in html


def test_the_timeline_links_tasks_that_still_exist(client, owner, board):
    kept = make_task(board, "Kept")
    gone = make_task(board, "Gone")
    activity.record("task.created", actor=owner, task=kept, message="Made kept")
    activity.record("task.created", actor=owner, task=gone, message="Made gone")
    gone_id = gone.pk
    gone.delete()
    client.force_login(owner)
    html = client.get(reverse("console:activity")).content.decode()
    assert reverse("console:task", args=[board.pk, kept.pk]) in html
    assert str(gone_id) not in html and "Made gone" in html


def test_the_agents_page_filters_by_presence(client, owner, board):
    from datetime import timedelta

    from django.utils import timezone

    make_agent("Fresh", board=board, last_seen_at=timezone.now())
    make_agent("Stale", board=board, last_seen_at=timezone.now() - timedelta(hours=2))
    make_agent("Newborn", board=board)
    client.force_login(owner)
    url = reverse("console:agents")
    online = client.get(url, {"presence": "online"}).content.decode()
    assert "Fresh" in online and "Stale" not in online and "Newborn" not in online
    offline = client.get(url, {"presence": "offline"}).content.decode()
    assert "Stale" in offline and "Fresh" not in offline
    waiting = client.get(url, {"presence": "provisioning"}).content.decode()
    assert "Newborn" in waiting and "Fresh" not in waiting and "Never connected" in waiting
