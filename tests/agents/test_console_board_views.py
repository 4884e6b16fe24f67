"""The board page's views (kanban and list), its search and filters in the query string,
the list's sorting, and what each card shows."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from agents import rules
from agents.models import (
    Approval,
    ApprovalTask,
    CustomFieldDefinition,
    Tag,
    TaskComment,
    TaskDependency,
)
from tests.conftest import make_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]

ALL = ("Write the launch post", "Fix login bug", "Plan the offsite", "Ship release notes", "Archive old tickets")


@pytest.fixture
def tasks(board, worker, org):
    now = timezone.now()
    urgent = Tag.objects.create(organization=org, name="Urgent fix", slug="urgent-fix", color="cc0000")
    docs = Tag.objects.create(organization=org, name="Docs", slug="docs", color="0055aa")
    made = {
        "post": make_task(board, ALL[0], description="Draft for the BLOG", priority="high",
                          due_at=now + timedelta(days=2), updated_at=now - timedelta(hours=1)),
        "bug": make_task(board, ALL[1], priority="urgent", status="in_progress", assigned_agent=worker,
                         due_at=now - timedelta(days=1), updated_at=now - timedelta(hours=3)),
        "offsite": make_task(board, ALL[2], priority="low", due_at=now + timedelta(days=30),
                             updated_at=now - timedelta(hours=2)),
        "notes": make_task(board, ALL[3], priority="medium", status="review", updated_at=now - timedelta(hours=5)),
        "archive": make_task(board, ALL[4], priority="low", status="done", due_at=now - timedelta(days=3),
                             updated_at=now - timedelta(hours=4)),
    }
    made["bug"].tags.add(urgent)
    made["post"].tags.add(docs)
    made["notes"].tags.add(docs, urgent)
    return made


def shown(client, board, **params) -> list[str]:
    """The titles the board page lists, in the page's order."""
    html = client.get(reverse("console:board", args=[board.pk]), params).content.decode()
    found = re.findall(r"<strong>([^<]+)</strong></a>", html) or re.findall(r'<h3><a href="[^"]+"[^>]*>([^<]+)</a></h3>', html)
    return [title for title in found if title in ALL]


@pytest.fixture
def signed_in(client, member):
    client.force_login(member)
    return client


def test_the_search_matches_title_or_description_whatever_the_case(signed_in, board, tasks):
    assert shown(signed_in, board, view="list", q="blog") == [ALL[0]]
    assert shown(signed_in, board, view="list", q="LOGIN") == [ALL[1]]
    assert shown(signed_in, board, view="list", q="nothing like it") == []


def test_the_assignee_filter_takes_an_agent_or_unassigned(signed_in, board, tasks, worker):
    assert shown(signed_in, board, view="list", assignee=str(worker.pk)) == [ALL[1]]
    assert set(shown(signed_in, board, view="list", assignee="unassigned")) == set(ALL) - {ALL[1]}


def test_the_tag_priority_and_status_filters(signed_in, board, tasks):
    assert set(shown(signed_in, board, view="list", tag="docs")) == {ALL[0], ALL[3]}
    assert set(shown(signed_in, board, view="list", priority="low")) == {ALL[2], ALL[4]}
    assert shown(signed_in, board, view="list", status="review") == [ALL[3]]


def test_the_due_filter_finds_overdue_due_this_week_and_undated_tasks(signed_in, board, tasks):
    # A done task is never overdue.
    assert shown(signed_in, board, view="list", due="overdue") == [ALL[1]]
    assert shown(signed_in, board, view="list", due="week") == [ALL[0]]
    assert shown(signed_in, board, view="list", due="none") == [ALL[3]]


def test_filters_combine_so_every_one_must_hold(signed_in, board, tasks, org):
    CustomFieldDefinition.objects.create(organization=org, field_key="size", label="Size",
                                         field_type="number").boards.add(board)
    tasks["post"].custom_field_values = {"size": 3}
    tasks["post"].save()
    tasks["offsite"].custom_field_values = {"size": 3}
    tasks["offsite"].save()
    assert set(shown(signed_in, board, view="list", field="size", value="3")) == {ALL[0], ALL[2]}
    assert shown(signed_in, board, view="list", field="size", value="3", tag="docs") == [ALL[0]]
    assert shown(signed_in, board, view="list", field="size", value="3", priority="low", due="week") == []
    assert shown(signed_in, board, view="list", q="the", assignee="unassigned", status="inbox",
                 priority="high") == [ALL[0]]


def test_filters_narrow_the_kanban_columns_too(signed_in, board, tasks):
    html = signed_in.get(reverse("console:board", args=[board.pk]), {"view": "kanban", "tag": "docs"}).content.decode()
    assert 'class="kanban"' in html
    assert shown(signed_in, board, view="kanban", tag="docs") == [ALL[0], ALL[3]]
    assert "No task here matches the filters." in html


@pytest.mark.parametrize(("params", "note"), [
    ({"priority": "whenever"}, "“whenever” is not a priority this board knows, so the priority filter was left out."),
    ({"status": "blocked"}, "“blocked” is not a status this board knows, so the status filter was left out."),
    ({"due": "someday"}, "“someday” is not a due date this board knows, so the due date filter was left out."),
    ({"assignee": "not-an-id"}, "The assignee filter names no agent of this board, so it was left out."),
    ({"tag": "nope"}, "There is no tag “nope” in this organization, so the tag filter was left out."),
    ({"field": "ghost", "value": "1"}, "This board has no custom field “ghost”, so that filter was left out."),
    ({"view": "list", "sort": "colour"}, "The list cannot be sorted by “colour”; it is shown in the board's order."),
    ({"view": "gallery"}, "There is no “gallery” view; the board shows the kanban."),
])
def test_a_value_the_board_cannot_use_is_left_out_with_a_note(signed_in, board, tasks, params, note):
    response = signed_in.get(reverse("console:board", args=[board.pk]), params)
    assert response.status_code == 200
    html = response.content.decode()
    assert escape(note) in html
    assert "Clear filters" in html
    # Nothing else narrows the tasks: every one is shown.
    assert sorted(shown(signed_in, board, **params)) == sorted(ALL)


def test_an_agent_of_another_board_is_not_a_valid_assignee(signed_in, board, tasks, foreign_agent):
    html = signed_in.get(reverse("console:board", args=[board.pk]),
                         {"view": "list", "assignee": str(foreign_agent.pk)}).content.decode()
    assert "names no agent of this board" in html
    assert len(shown(signed_in, board, view="list", assignee=str(foreign_agent.pk))) == len(ALL)


def test_a_long_search_is_cut_with_a_note(signed_in, board, tasks):
    html = signed_in.get(reverse("console:board", args=[board.pk]), {"view": "list", "q": "x" * 500}).content.decode()
    assert "The search was cut to its first 200 characters." in html


def test_filters_stay_in_the_form_and_the_clear_link_drops_them(signed_in, board, tasks, worker):
    html = signed_in.get(reverse("console:board", args=[board.pk]),
                         {"view": "list", "q": "blog", "assignee": str(worker.pk), "tag": "docs", "priority": "high",
                          "status": "inbox", "due": "week", "sort": "-due"}).content.decode()
    assert 'name="q" value="blog"' in html
    assert f'<option value="{worker.pk}" selected>' in html
    assert '<option value="docs" selected>' in html and '<option value="high" selected>' in html
    assert '<option value="inbox" selected>' in html and '<option value="week" selected>' in html
    assert '<input type="hidden" name="view" value="list">' in html
    assert '<input type="hidden" name="sort" value="-due">' in html
    assert '<a href="?view=list">Clear filters</a>' in html
    plain = signed_in.get(reverse("console:board", args=[board.pk])).content.decode()
    assert "Clear filters" not in plain


def test_the_list_shows_each_tasks_columns_in_words(signed_in, board, tasks, worker):
    TaskComment.objects.create(task=tasks["bug"], message="On it", author_agent=worker)
    TaskComment.objects.create(task=tasks["bug"], message="Fixed locally", author_agent=worker)
    html = signed_in.get(reverse("console:board", args=[board.pk]), {"view": "list"}).content.decode()
    row = next(r for r in html.split("<tr")[1:] if ALL[1] in r)
    assert f'href="{reverse("console:task", args=[board.pk, tasks["bug"].pk])}"' in row
    assert "In progress" in row and "Urgent" in row and worker.name in row
    assert "Urgent fix" in row and 'fill="#cc0000"' in row
    assert '<span class="badge overdue">Overdue</span>' in row and 'class="is-overdue"' in row
    assert '<td data-label="Comments" class="num">2</td>' in row
    assert "data-relative" in row
    undated = next(r for r in html.split("<tr")[1:] if ALL[3] in r)
    assert "No due date" in undated and "Unassigned" in undated
    # Both views link each other, keeping the filters.
    assert 'href="?view=kanban"' in html and 'aria-current="page">List</a>' in html


@pytest.mark.parametrize(("sort", "expected"), [
    ("title", sorted(ALL)),
    ("-title", sorted(ALL, reverse=True)),
    ("priority", [ALL[1], ALL[0], ALL[3], ALL[2], ALL[4]]),
    ("due", [ALL[4], ALL[1], ALL[0], ALL[2], ALL[3]]),
    ("-due", [ALL[2], ALL[0], ALL[1], ALL[4], ALL[3]]),
    ("-updated", [ALL[0], ALL[2], ALL[1], ALL[4], ALL[3]]),
    ("updated", [ALL[3], ALL[4], ALL[1], ALL[2], ALL[0]]),
    ("status", [ALL[0], ALL[2], ALL[1], ALL[3], ALL[4]]),
    ("-status", [ALL[4], ALL[3], ALL[1], ALL[0], ALL[2]]),
])
def test_the_list_sorts_by_a_column(signed_in, board, tasks, sort, expected):
    assert shown(signed_in, board, view="list", sort=sort) == expected


def test_the_sorted_header_says_so_and_links_to_the_reverse_order(signed_in, board, tasks):
    html = signed_in.get(reverse("console:board", args=[board.pk]),
                         {"view": "list", "sort": "due", "tag": "docs"}).content.decode()
    assert re.search(r'<th scope="col" aria-sort="ascending"><a href="\?[^"]*sort=-due[^"]*">Due', html)
    assert html.count("aria-sort=") == 1
    assert "tag=docs" in re.search(r'<a href="(\?[^"]*sort=-due[^"]*)">Due', html).group(1)
    reversed_ = signed_in.get(reverse("console:board", args=[board.pk]), {"view": "list", "sort": "-due"}).content.decode()
    assert re.search(r'aria-sort="descending"><a href="\?[^"]*sort=due[^"]*">Due', reversed_)


def test_without_a_sort_the_list_follows_the_board(signed_in, board, tasks, owner):
    # Columns left to right, each in its own order.
    assert shown(signed_in, board, view="list") == [ALL[0], ALL[2], ALL[1], ALL[3], ALL[4]]
    rules.move_task_within_column(owner, tasks["post"], "down")
    assert shown(signed_in, board, view="list") == [ALL[2], ALL[0], ALL[1], ALL[3], ALL[4]]


def test_the_kanban_orders_each_column_by_position(signed_in, board, tasks, owner):
    assert shown(signed_in, board)[:2] == [ALL[0], ALL[2]]
    rules.move_task_within_column(owner, tasks["offsite"], "up")
    assert shown(signed_in, board)[:2] == [ALL[2], ALL[0]]


def test_a_card_shows_tags_due_date_comments_blocked_and_pending_approval(signed_in, board, tasks, worker):
    TaskDependency.objects.create(task=tasks["post"], depends_on=tasks["offsite"])
    TaskComment.objects.create(task=tasks["post"], message="Draft ready", author_agent=worker)
    approval = Approval.objects.create(board=board, agent=worker, action_type="mark_done", lead_reasoning="ok",
                                       confidence=80)
    ApprovalTask.objects.create(approval=approval, task=tasks["notes"])
    html = signed_in.get(reverse("console:board", args=[board.pk])).content.decode()
    cards = {card.split("</a></h3>")[0].rsplit(">", 1)[-1]: card for card in html.split('<li class="task-card')[1:]}
    assert "Blocked" in cards[ALL[0]] and "1 comment<" in cards[ALL[0]] and "Docs" in cards[ALL[0]]
    assert "Due " in cards[ALL[0]] and "Overdue" not in cards[ALL[0]]
    assert "Awaiting approval" in cards[ALL[3]] and 'fill="#cc0000"' in cards[ALL[3]]
    assert '<span class="badge overdue">Overdue</span>' in cards[ALL[1]]
    assert "comment" not in cards[ALL[2]]


def test_the_show_all_link_opens_the_column_as_a_list_with_the_filters(signed_in, board):
    for number in range(35):
        make_task(board, f"Bulk {number}", priority="high")
    html = signed_in.get(reverse("console:board", args=[board.pk]), {"view": "kanban", "priority": "high"}).content.decode()
    link = re.search(r'<a href="([^"]+)">Show all 35 in inbox</a>', html)
    assert link is not None
    target = link.group(1).replace("&amp;", "&")
    assert "view=list" in target and "status=inbox" in target and "priority=high" in target


def test_the_live_board_keeps_the_filters(signed_in, board, tasks):
    html = signed_in.get(reverse("console:board", args=[board.pk]), {"view": "kanban", "tag": "docs"}).content.decode()
    live = re.search(r'data-live-url="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "tag=docs" in live
    fragment = signed_in.get(live).content.decode()
    assert ALL[0] in fragment and ALL[2] not in fragment


def test_a_comment_changes_the_live_boards_etag(signed_in, board, tasks, worker):
    url = reverse("console:board_live", args=[board.pk])
    before = signed_in.get(url)["ETag"]
    TaskComment.objects.create(task=tasks["post"], message="New", author_agent=worker)
    assert signed_in.get(url)["ETag"] != before


def test_an_empty_filtered_list_says_so(signed_in, board, tasks):
    html = signed_in.get(reverse("console:board", args=[board.pk]),
                         {"view": "list", "q": "zzz", "priority": "low"}).content.decode()
    assert "No task matches every filter." in html


def _fill(board, worker, count: int, start: int = 0):
    tag = Tag.objects.get_or_create(organization=board.organization, slug="bulk", defaults={"name": "Bulk"})[0]
    for number in range(start, start + count):
        task = make_task(board, f"Bulk {number}", status=["inbox", "in_progress", "review", "done"][number % 4],
                         assigned_agent=worker if number % 2 else None,
                         due_at=timezone.now() + timedelta(days=number % 5 - 2))
        task.tags.add(tag)
        TaskComment.objects.create(task=task, message="note", author_agent=worker)


@pytest.mark.parametrize("params", [
    {"view": "list"},
    {"view": "list", "sort": "-priority", "q": "bulk", "tag": "bulk", "due": "overdue"},
    {"view": "kanban", "q": "bulk", "assignee": "unassigned"},
])
def test_the_list_and_the_kanban_cost_the_same_queries_for_5_or_60_tasks(client, member, board, worker, params):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(member)
    url = reverse("console:board", args=[board.pk])
    client.get(url)

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, params).status_code == 200
        return len(queries.captured_queries)

    _fill(board, worker, 5)
    small = cost()
    _fill(board, worker, 55, start=5)
    assert cost() == small
    assert small <= 14


def test_a_card_moved_on_a_filtered_kanban_comes_back_to_the_filters(signed_in, board, tasks):
    html = signed_in.get(reverse("console:board", args=[board.pk]), {"view": "kanban", "tag": "docs"}).content.decode()
    back = re.search(r'name="back" value="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert back == reverse("console:board", args=[board.pk]) + "?view=kanban&tag=docs"
    response = signed_in.post(reverse("console:task_move", args=[board.pk, tasks["post"].pk]),
                              {"status": "in_progress", "back": back})
    assert response.status_code == 302 and response["Location"] == back


def test_a_nul_character_in_the_query_string_is_a_400_with_a_sentence(signed_in, board, tasks):
    response = signed_in.get(reverse("console:board", args=[board.pk]) + "?view=list&q=a%00b")
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


@pytest.mark.parametrize("typed", ["1e999", "9" * 400, "-1e400", "nan", "100000000000000000000000000000"])
def test_a_number_too_big_to_compare_never_breaks_the_page(signed_in, board, tasks, org, typed):
    CustomFieldDefinition.objects.create(organization=org, field_key="size", label="Size",
                                         field_type="number").boards.add(board)
    response = signed_in.get(reverse("console:board", args=[board.pk]), {"view": "list", "field": "size",
                                                                         "value": typed})
    assert response.status_code == 200
    if typed in ("1e999", "-1e400", "nan"):
        assert escape("Size is a number: type one, like 3 or 2.5.") in response.content.decode()
