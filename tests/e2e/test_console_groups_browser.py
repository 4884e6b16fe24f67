"""Board groups in a real browser: create a group, put two boards in it, write to its chat,
set its heartbeat, and delete it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from agents.models import Board, BoardGroup, BoardGroupMemory
from tests.conftest import make_agent, make_board, make_org, make_task
from tests.e2e.test_console_flow import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("console_static", "transactional_db")]


def test_an_operator_groups_two_boards_and_talks_to_their_agents(console_page):
    org = make_org("Acme", is_default=True)
    web = make_board(org, "Web")
    docs = make_board(org, "Docs")
    writer = make_agent("Writer", board=docs)
    make_task(docs, "Write the upgrade guide", status="in_progress", assigned_agent=writer)
    page = console_page
    sign_in(page)

    page.get_by_role("link", name="Groups", exact=True).click()
    expect(page.get_by_text("No group yet.")).to_be_visible()
    page.shot("groups-empty")
    page.get_by_label("Name", exact=True).fill("Release train")
    page.get_by_label("Description").fill("Web and docs ship together.")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", name="Release train")).to_be_visible()
    expect(page.get_by_text("No board in this group yet.")).to_be_visible()
    group = BoardGroup.objects.get(name="Release train")
    page.shot("group-empty")

    for board in (web, docs):
        page.goto(f"/boards/{board.pk}/edit")
        page.get_by_label("Board group").select_option(label="Release train")
        page.get_by_role("button", name="Save board").click()
        expect(page.get_by_role("link", name="Group", exact=True)).to_be_visible()
    assert set(Board.objects.filter(group=group).values_list("name", flat=True)) == {"Web", "Docs"}

    page.get_by_role("link", name="Group", exact=True).click()
    expect(page.get_by_role("link", name="Docs", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Write the upgrade guide")).to_be_visible()
    page.get_by_role("textbox", name="Message").fill("@Writer the guide ships with the web release on Friday.")
    page.get_by_role("button", name="Post").click()
    expect(page.get_by_text("the guide ships with the web release")).to_be_visible()
    assert BoardGroupMemory.objects.get(group=group).is_chat
    page.shot("group-with-boards-and-chat")

    page.get_by_role("link", name="Edit group").click()
    page.get_by_label("Heartbeat interval").fill("15m")
    page.get_by_role("button", name="Save group").click()
    expect(page.get_by_text("Heartbeat every 15m")).to_be_visible()
    writer.refresh_from_db()
    assert writer.heartbeat_config == {"every": "15m"}
    page.shot("group-heartbeat")

    page.get_by_role("link", name="Edit group").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete group").click()
    page.wait_for_url("**/groups/")
    expect(page.get_by_text("No group yet.")).to_be_visible()
    assert not BoardGroup.objects.exists() and Board.objects.filter(group__isnull=True).count() == 2
