"""Board groups in the console: the list, a group's page with its boards and its memory,
creating, editing and deleting a group, and a board joining one from its edit page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from agents.models import ActivityEvent, Board, BoardGroup, BoardGroupMemory
from tests.conftest import make_agent, make_board, make_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]


@pytest.fixture
def group(org, board) -> BoardGroup:
    group = BoardGroup.objects.create(organization=org, name="Web", slug="web", description="Site and API")
    board.group = group
    board.save()
    return group


def group_urls(group):
    return [reverse("console:groups"), reverse("console:group", args=[group.pk]),
            reverse("console:group", args=[group.pk]) + "?chat=1", reverse("console:group_edit", args=[group.pk])]


def test_anonymous_visitors_are_sent_to_sign_in(client, group):
    for url in group_urls(group):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), url


def test_an_owner_sees_every_group_page_without_inline_script_or_style(client, owner, group):
    client.force_login(owner)
    for url in group_urls(group):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "<script>" not in html and " style=" not in html and "<style" not in html, url
    assert 'aria-current="page">Groups</a>' in client.get(reverse("console:groups")).content.decode()


def test_an_outsider_gets_404_for_another_organizations_group(client, outsider, group):
    client.force_login(outsider)
    for url in group_urls(group)[1:]:
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("console:group_delete", args=[group.pk])).status_code == 404
    assert "Web" not in client.get(reverse("console:groups")).content.decode()


def test_an_admin_creates_a_group_with_a_heartbeat_interval(client, owner, org):
    client.force_login(owner)
    response = client.post(reverse("console:groups"), {"organization": str(org.pk), "name": "Platform", "slug": "",
                                                       "description": "", "heartbeat_every": "15m"})
    group = BoardGroup.objects.get(name="Platform")
    assert response.status_code == 302 and response["Location"] == reverse("console:group", args=[group.pk])
    assert (group.slug, group.heartbeat_every, group.heartbeat_include_leads) == ("platform", "15m", False)
    assert ActivityEvent.objects.filter(event_type="board_group.created").exists()


def test_a_bad_interval_shows_the_rules_sentence_on_its_field(client, owner, org):
    client.force_login(owner)
    response = client.post(reverse("console:groups"), {"organization": str(org.pk), "name": "Platform",
                                                       "heartbeat_every": "soon"})
    assert response.status_code == 422
    assert "must be a duration" in response.content.decode()
    assert not BoardGroup.objects.exists()


def test_a_member_reads_a_group_and_writes_to_it_but_cannot_change_it(client, member, group):
    client.force_login(member)
    html = client.get(reverse("console:groups")).content.decode()
    assert "New group" not in html and "Web" in html
    assert "Edit group" not in client.get(reverse("console:group", args=[group.pk])).content.decode()
    for response in (client.get(reverse("console:group_edit", args=[group.pk])),
                     client.post(reverse("console:group_edit", args=[group.pk]), {"name": "Mine"}),
                     client.post(reverse("console:group_delete", args=[group.pk])),
                     client.post(reverse("console:groups"), {"name": "Mine"})):
        assert response.status_code == 403
    group.refresh_from_db()
    assert group.name == "Web" and BoardGroup.objects.count() == 1

    response = client.post(reverse("console:group", args=[group.pk]), {"content": "Standup moves to ten",
                                                                       "is_chat": "on"})
    assert response.status_code == 302
    note = BoardGroupMemory.objects.get()
    assert (note.is_chat, note.author_user, note.source, note.group) == (True, member, "console", group)


def test_the_group_page_shows_its_boards_with_counts_and_its_memory(client, owner, org, gateway, board, group):
    docs = make_board(org, "Docs", gateway=gateway, group=group)
    writer = make_agent("Writer", board=docs)
    make_task(docs, "Write the guide", status="in_progress", assigned_agent=writer)
    make_task(board, "Plan the launch")
    BoardGroupMemory.objects.create(group=group, board=docs, author_agent=writer, content="Guide draft is up",
                                    tags=["chat"], is_chat=True)
    client.force_login(owner)

    html = client.get(reverse("console:group", args=[group.pk])).content.decode()

    assert "Docs" in html and "Launch" in html and "Write the guide" in html and "Writer" in html
    assert "Guide draft is up" in html and "from Docs" in html
    assert "No group heartbeat" in html


def test_editing_a_group_sets_its_heartbeat_for_its_boards_agents(client, owner, group, board, lead, worker):
    client.force_login(owner)
    response = client.post(reverse("console:group_edit", args=[group.pk]), {
        "name": "Web", "slug": "web", "description": "", "heartbeat_every": "30m", "heartbeat_include_leads": "on"})
    assert response.status_code == 302
    lead.refresh_from_db()
    worker.refresh_from_db()
    assert lead.heartbeat_config["every"] == worker.heartbeat_config["every"] == "30m"
    assert "Heartbeat every 30m, leads too" in client.get(reverse("console:group", args=[group.pk])).content.decode()


def test_deleting_a_group_leaves_its_boards(client, owner, group, board):
    client.force_login(owner)
    response = client.post(reverse("console:group_delete", args=[group.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("console:groups")
    board.refresh_from_db()
    assert board.group_id is None and not BoardGroup.objects.exists()


def test_a_board_joins_a_group_from_its_edit_page_and_links_to_it(client, owner, org, board):
    group = BoardGroup.objects.create(organization=org, name="Platform", slug="platform")
    client.force_login(owner)
    edit = client.get(reverse("console:board_edit", args=[board.pk])).content.decode()
    assert "Platform" in edit and "Board group" in edit

    response = client.post(reverse("console:board_edit", args=[board.pk]),
                           {"name": "Launch", "slug": "launch", "max_agents": 10, "group": str(group.pk)})

    assert response.status_code == 302
    assert Board.objects.get(pk=board.pk).group_id == group.pk
    page = client.get(reverse("console:board", args=[board.pk])).content.decode()
    assert reverse("console:group", args=[group.pk]) in page


def _limit_to(admin_user, member, grants) -> None:
    from agents import rules
    from agents.models import Membership

    rules.set_board_access(admin_user, Membership.objects.get(user=member), {
        "all_boards_read": False, "all_boards_write": False,
        "boards": [{"board_id": str(b.pk), "can_write": w} for b, w in grants.items()]})


def test_a_member_limited_to_some_boards_sees_the_group_but_not_its_memory(client, admin_user, member, org, gateway,
                                                                           board, group):
    hidden = make_board(org, "Payroll", gateway=gateway, group=group)
    make_task(hidden, "Raise salaries")
    BoardGroupMemory.objects.create(group=group, board=hidden, content="Salaries go up in May")
    _limit_to(admin_user, member, {board: True})
    client.force_login(member)
    url = reverse("console:group", args=[group.pk])

    html = client.get(url).content.decode()

    assert "Launch" in html and "Payroll" not in html and "Raise salaries" not in html
    assert "Salaries go up" not in html and 'name="content"' not in html
    assert "may not read every one of them" in html
    listing = client.get(reverse("console:groups")).content.decode()
    assert re.findall(r'data-label="Boards" class="num">(\d+)<', listing) == ["1"]  # not the hidden one
    response = client.post(url, {"content": "Let me in", "is_chat": "on"})
    assert response.status_code == 403 and "may not read every one of them" in response.content.decode()
    assert not BoardGroupMemory.objects.filter(content="Let me in").exists()


def test_a_member_reading_every_board_of_a_group_reads_its_memory_but_may_not_write_it(client, admin_user, member,
                                                                                        org, gateway, board, group):
    hidden = make_board(org, "Payroll", gateway=gateway, group=group)
    BoardGroupMemory.objects.create(group=group, board=hidden, content="Salaries go up in May")
    _limit_to(admin_user, member, {board: True, hidden: False})
    client.force_login(member)
    url = reverse("console:group", args=[group.pk])

    html = client.get(url).content.decode()

    assert "Salaries go up in May" in html and 'name="content"' not in html
    assert "but not write to it" in html
    response = client.post(url, {"content": "Let me write"})
    assert response.status_code == 403 and "but not write to it" in response.content.decode()
    assert not BoardGroupMemory.objects.filter(content="Let me write").exists()


def test_the_group_page_costs_the_same_queries_with_more_boards_and_notes(client, owner, org, gateway, group):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(owner)
    url = reverse("console:group", args=[group.pk])
    client.get(url)

    def count(size: int) -> int:
        for n in range(size):
            other = make_board(org, f"Board {size}-{n}", gateway=gateway, group=group)
            make_task(other, "A task")
            BoardGroupMemory.objects.create(group=group, board=other, content=f"Note {n}",
                                            author_agent=make_agent(f"Agent {size}-{n}", board=other))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries.captured_queries)

    assert count(2) == count(20) <= 14


def test_the_activity_timeline_says_board_group_events_in_sentences_and_filters_them(client, owner, org, board):
    import re

    from agents import rules

    group = rules.create_group(owner, org, {"name": "Platform"})
    rules.update_board(owner, board, {"board_group_id": str(group.pk)})
    rules.create_group_memory(owner, group, {"content": "Hello", "tags": ["chat"]})
    gone = rules.create_group(owner, org, {"name": "Old train"})
    rules.delete_group(owner, gone)
    rules.create_tag(owner, org, {"name": "Docs"})
    client.force_login(owner)

    html = client.get(reverse("console:activity") + "?type=board_group.").content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))

    group_link = f'<a href="{reverse("console:group", args=[group.pk])}">Platform</a>'
    assert f"created the board group {group_link}." in html
    assert f'put the board <a href="{reverse("console:board", args=[board.pk])}">Launch</a> in the group ' \
           f'{group_link}.' in html
    assert f"wrote in the group chat of {group_link}." in html
    assert "deleted the board group Old train." in text and "Docs" not in text.split("Activity", 1)[-1]
    assert '<option value="board_group."' in html
