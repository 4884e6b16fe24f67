"""The board's views in a real browser, on a desktop and on a 390 px phone: filter the
kanban, switch to the list and sort it, and order a column with the keyboard, all by plain
links and forms (the page's script is not needed for any of it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agents import rules
from agents.identity import default_organization, local_operator
from agents.models import Board, Tag, Task
from tests.e2e.test_console_flow import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("console_static", "transactional_db")]

SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
LONG = "Prepare the quarterly infrastructure capacity review with every region's numbers"


def _board() -> Board:
    operator = local_operator()
    org = default_organization()
    board = Board.objects.create(organization=org, name="Launch", slug="launch")
    docs = Tag.objects.create(organization=org, name="Documentation and guides", slug="docs", color="0055aa")
    now = timezone.now()
    for title, priority, due in (("Write the launch post", "high", now + timedelta(days=2)),
                                 ("Fix the login bug", "urgent", now - timedelta(days=1)),
                                 (LONG, "low", None)):
        data = {"title": title, "priority": priority, "due_at": due} if due else {"title": title, "priority": priority}
        task = rules.create_task(operator, board, data)
        if title != LONG:
            task.tags.add(docs)
    rules.add_comment(operator, Task.objects.get(title="Fix the login bug"), "Seen on staging.")
    return board


def _no_sideways_scroll(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("size", list(SIZES))
def test_filter_switch_to_the_list_sort_and_order_a_column(console_page, size):
    page = console_page
    page.set_viewport_size(SIZES[size])
    board = _board()
    sign_in(page)
    page.goto(f"/boards/{board.pk}/")
    _no_sideways_scroll(page, SIZES[size]["width"])
    page.shot(f"{size}-board")

    # The kanban, filtered by tag: the untagged card goes, the others stay as cards.
    page.get_by_label("Tag", exact=True).select_option(label="Documentation and guides")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator(".task-card", has_text="Write the launch post")).to_be_visible()
    expect(page.locator(".task-card", has_text=LONG)).to_have_count(0)
    bug = page.locator(".task-card", has_text="Fix the login bug")
    expect(bug.locator(".badge.overdue", has_text="Overdue")).to_be_visible()
    expect(bug.get_by_text("1 comment")).to_be_visible()
    assert "tag=docs" in page.url
    _no_sideways_scroll(page, SIZES[size]["width"])
    page.shot(f"{size}-board-filtered")

    # The list with the same filter, sorted by due date, then reversed.
    page.get_by_role("link", name="List", exact=True).click()
    expect(page.get_by_role("heading", name="Tagged Documentation and guides")).to_be_visible()
    page.get_by_role("link", name="Due", exact=True).click()
    expect(page.locator('th[aria-sort="ascending"]', has_text="Due")).to_have_count(1)
    rows = page.locator("table.task-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Fix the login bug")
    page.get_by_role("link", name="Due", exact=True).click()
    expect(page.locator('th[aria-sort="descending"]', has_text="Due")).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("Write the launch post")
    assert "tag=docs" in page.url and "sort=-due" in page.url
    _no_sideways_scroll(page, SIZES[size]["width"])
    page.shot(f"{size}-list-sorted")

    # Clear the filters: every task is listed again.
    page.get_by_role("link", name="Clear filters").click()
    expect(rows).to_have_count(3)

    # Back on the kanban, order the inbox with the keyboard: the newest card is first.
    page.get_by_role("link", name="Kanban", exact=True).click()
    inbox = page.locator('.column[data-status="inbox"] .task-card')
    expect(inbox.nth(0)).to_contain_text(LONG)
    page.get_by_role("button", name=f"Down one place: “{LONG}”").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".message.success", has_text="moved down in Inbox")).to_be_visible()
    expect(inbox.nth(1)).to_contain_text(LONG)
    expect(inbox.nth(0)).to_contain_text("Fix the login bug")
    # Moved back up again, still from the keyboard.
    page.get_by_role("button", name=f"Up one place: “{LONG}”").focus()
    page.keyboard.press("Enter")
    expect(inbox.nth(0)).to_contain_text(LONG)
    _no_sideways_scroll(page, SIZES[size]["width"])
    page.shot(f"{size}-board-ordered")


def test_the_board_views_work_without_javascript(browser, live_server, settings, console_static):
    settings.BASE_URL = live_server.url
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False,
                                  viewport=SIZES["phone"])
    page = context.new_page()
    try:
        board = _board()
        page.goto("/")
        page.get_by_label("Access token").fill(settings.LOCAL_AUTH_TOKEN)
        page.get_by_role("button", name="Sign in with token").click()
        page.goto(f"/boards/{board.pk}/")
        page.get_by_label("Search", exact=True).fill("LOGIN")
        page.get_by_role("button", name="Apply filters").click()
        expect(page.locator(".task-card")).to_have_count(1)
        page.get_by_role("link", name="List", exact=True).click()
        page.get_by_role("link", name="Priority", exact=True).click()
        expect(page.locator("table.task-table tbody tr")).to_have_count(1)
        page.get_by_role("link", name="Clear filters").click()
        page.get_by_role("link", name="Kanban", exact=True).click()
        page.get_by_role("button", name="Down one place: “Fix the login bug”").click()
        inbox = page.locator('.column[data-status="inbox"] .task-card')
        expect(inbox.nth(2)).to_contain_text("Fix the login bug")
        expect(inbox.nth(1)).to_contain_text("Write the launch post")
    finally:
        context.close()
