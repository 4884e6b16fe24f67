"""Keyboard shortcuts and dragging a card within its column, in a browser at desktop (1280 x
860) and phone (390 x 844) size, under the product's CSP (any console error fails a test):
"?" and the sidebar's button open the list of shortcuts, Escape closes it and focus comes
back; j, k and Enter open a card in the drawer; "]" moves the task to the next status
through the drawer's form (and the task page's), and a refused move shows the rule's
sentence; Alt+Down and a card dropped above another order the column; no key acts while a
field is being typed in."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from agents import rules
from agents.identity import default_organization, local_operator
from agents.models import Board, Task
from agents.queries import COLUMN_ORDER
from tests.e2e.test_console_flow import sign_in
from tests.e2e.test_console_task_drawer import require_htmx

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("console_static", "transactional_db")]

SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
TITLES = ("Write the launch post", "Fix the login bug", "Review the pricing page")


def _board(*, approval_for_done: bool = False) -> dict[str, Any]:
    """A board whose inbox shows the three tasks in TITLES' order (the latest change first)."""
    operator = local_operator()
    board = Board.objects.create(organization=default_organization(), name="Launch", slug="launch",
                                 require_approval_for_done=approval_for_done)
    now = timezone.now()
    tasks = {}
    for n, title in enumerate(reversed(TITLES)):
        task = rules.create_task(operator, board, {"title": title})
        # In the past: the board's live refresh notices a later change by its newer time.
        Task.objects.filter(pk=task.pk).update(updated_at=now - timedelta(minutes=10 - n))
        tasks[title] = task
    board_url = f"/boards/{board.pk}/"
    return {"board": board, "board_url": board_url, "tasks": tasks}


def _inbox(board: Board) -> list[str]:
    return list(Task.objects.filter(board=board, status="inbox").order_by(*COLUMN_ORDER)
                .values_list("title", flat=True))


def _cards(page: Any) -> Any:
    return page.locator('.column[data-status="inbox"] .task-card h3 a')


@pytest.mark.parametrize("size", SIZES)
def test_question_mark_and_the_button_open_the_list_and_escape_gives_focus_back(console_page, size):
    from playwright.sync_api import expect

    page = console_page
    page.set_viewport_size(SIZES[size])
    objects = _board()
    sign_in(page)
    page.goto(objects["board_url"])
    overlay = page.locator("#shortcuts")
    expect(overlay).to_be_hidden()

    page.keyboard.press("j")
    first = _cards(page).nth(0)
    expect(first).to_be_focused()
    page.keyboard.press("?")
    expect(overlay).to_be_visible()
    expect(overlay.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    expect(overlay.get_by_role("button", name="Close")).to_be_focused()
    for key in ("?", "/", "n", "j", "k", "Enter", "]", "[", "a", "e", "Escape"):
        expect(overlay.locator("kbd", has_text=re.compile(f"^{re.escape(key)}$")).first).to_be_visible()
    expect(overlay.get_by_role("row", name=re.compile("Alt.*↓"))).to_contain_text("down one place")
    # Modal: a board key pressed now does nothing behind it.
    page.keyboard.press("j")
    expect(overlay.get_by_role("button", name="Close")).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
    box = overlay.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= SIZES[size]["width"]
    page.shot(f"{size}-shortcuts")
    page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()
    expect(first).to_be_focused()

    # The same list from the visible button, for whoever does not know "?".
    button = page.get_by_role("button", name="Keyboard shortcuts")
    expect(button).to_be_visible()
    button.click()
    expect(overlay).to_be_visible()
    overlay.get_by_role("button", name="Close").click()
    expect(overlay).to_be_hidden()
    expect(button).to_be_focused()
    assert page.problems.items == []


@pytest.mark.parametrize("size", SIZES)
def test_j_k_and_enter_open_a_card_and_a_bracket_moves_its_task_to_the_next_status(console_page, size):
    from playwright.sync_api import expect

    require_htmx()
    page = console_page
    page.set_viewport_size(SIZES[size])
    objects = _board()
    sign_in(page)
    page.goto(objects["board_url"])
    cards = _cards(page)
    expect(cards).to_have_text(list(TITLES))
    page.keyboard.press("j")
    expect(cards.nth(0)).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(cards.nth(2)).to_be_focused()
    page.keyboard.press("k")
    expect(cards.nth(1)).to_be_focused()
    page.keyboard.press("Enter")
    drawer = page.locator("#task-drawer")
    expect(drawer).to_be_visible()
    expect(drawer.get_by_role("heading", level=1)).to_have_text(TITLES[1])

    # "]": the next status, through the drawer's own form and rules.
    page.keyboard.press("]")
    expect(page.locator("#task-drawer-notice")).to_have_text("Task updated.")
    expect(drawer.get_by_label("Status")).to_have_value("in_progress")
    task = Task.objects.get(pk=objects["tasks"][TITLES[1]].pk)
    assert task.status == "in_progress"
    expect(page.locator('.column[data-status="in_progress"] .task-card', has_text=TITLES[1])).to_be_visible()
    page.keyboard.press("[")
    expect(drawer.get_by_label("Status")).to_have_value("inbox")
    expect(page.locator('.column[data-status="inbox"] .task-card', has_text=TITLES[1])).to_be_visible()
    assert Task.objects.get(pk=task.pk).status == "inbox"

    # "a" and "e" reach the assignee menu and the title (its section opens).
    page.keyboard.press("a")
    expect(drawer.get_by_label("Assignee")).to_be_focused()
    drawer.get_by_role("button", name="Close").focus()
    page.keyboard.press("e")
    expect(drawer.get_by_label("Title")).to_be_focused()
    # Typing in a field: the keys are letters of the title, not shortcuts.
    page.keyboard.type("]a[e?")
    expect(drawer.get_by_label("Title")).to_have_value("]a[e?")
    expect(page.locator("#shortcuts")).to_be_hidden()
    assert Task.objects.get(pk=task.pk).status == "inbox"
    page.shot(f"{size}-drawer-keys")
    drawer.get_by_role("button", name="Close").click()
    expect(drawer).to_be_hidden()
    assert page.problems.items == []


@pytest.mark.parametrize("size", SIZES)
def test_a_refused_status_shortcut_shows_the_rules_sentence(console_page, size):
    from playwright.sync_api import expect

    require_htmx()
    page = console_page
    page.set_viewport_size(SIZES[size])
    page.problems.expect_status("/edit", 422)
    objects = _board(approval_for_done=True)
    task = objects["tasks"][TITLES[0]]
    rules.update_task(local_operator(), task, {"status": "review"})
    sign_in(page)
    page.goto(objects["board_url"])
    # The two inbox cards, then the one in review.
    for _ in range(3):
        page.keyboard.press("j")
    expect(page.locator('.column[data-status="review"] .task-card h3 a')).to_be_focused()
    page.keyboard.press("Enter")
    drawer = page.locator("#task-drawer")
    expect(drawer.get_by_role("heading", level=1)).to_have_text(TITLES[0])
    page.keyboard.press("]")
    expect(drawer).to_contain_text("On this board a task needs an approved mark_done approval")
    assert Task.objects.get(pk=task.pk).status == "review"
    page.shot(f"{size}-drawer-refused")

    # The task's own page: the same key posts the page's form, and the page says the same.
    page.goto(f"{objects['board_url']}tasks/{task.pk}/")
    page.keyboard.press("]")
    expect(page.locator("main")).to_contain_text("On this board a task needs an approved mark_done approval")
    assert Task.objects.get(pk=task.pk).status == "review"
    page.keyboard.press("[")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLES[0])
    expect(page.locator(".page-head .badge").first).to_have_text("In progress")
    assert Task.objects.get(pk=task.pk).status == "in_progress"
    assert page.problems.items == []


@pytest.mark.parametrize("size", SIZES)
def test_a_card_dropped_above_another_and_alt_down_order_the_column(console_page, size):
    from playwright.sync_api import expect

    page = console_page
    page.set_viewport_size(SIZES[size])
    objects = _board()
    board = objects["board"]
    sign_in(page)
    page.goto(objects["board_url"])
    cards = _cards(page)
    expect(cards).to_have_text(list(TITLES))

    # The last card dropped on the top edge of the first: it goes first.
    source = page.locator(".task-card", has_text=TITLES[2])
    target = page.locator(".task-card", has_text=TITLES[0])
    source.drag_to(target, source_position={"x": 4, "y": 4}, target_position={"x": 20, "y": 3})
    expect(page.locator("#board-notice")).to_have_text(f"“{TITLES[2]}” is now number 1 in Inbox.")
    expect(cards).to_have_text([TITLES[2], TITLES[0], TITLES[1]])
    assert _inbox(board) == [TITLES[2], TITLES[0], TITLES[1]]
    expect(cards.nth(0)).to_be_focused()
    page.shot(f"{size}-dropped")

    # Alt+Down: the card in focus one place down, and focus stays on it.
    page.keyboard.press("Alt+ArrowDown")
    expect(page.locator("#board-notice")).to_have_text(f"“{TITLES[2]}” moved down in Inbox.")
    expect(cards).to_have_text([TITLES[0], TITLES[2], TITLES[1]])
    assert _inbox(board) == [TITLES[0], TITLES[2], TITLES[1]]
    expect(cards.nth(1)).to_be_focused()
    page.keyboard.press("Alt+ArrowUp")
    expect(cards).to_have_text([TITLES[2], TITLES[0], TITLES[1]])
    assert _inbox(board) == [TITLES[2], TITLES[0], TITLES[1]]
    # Already first: said, nothing sent.
    page.keyboard.press("Alt+ArrowUp")
    expect(page.locator("#board-notice")).to_have_text(f"“{TITLES[2]}” is already first in its column.")
    assert _inbox(board) == [TITLES[2], TITLES[0], TITLES[1]]
    assert page.problems.items == []


@pytest.mark.parametrize("size", SIZES)
def test_no_shortcut_acts_while_typing_in_a_field(console_page, size):
    from playwright.sync_api import expect

    page = console_page
    page.set_viewport_size(SIZES[size])
    objects = _board()
    sign_in(page)
    page.goto(objects["board_url"])
    # "/" reaches the search box; what is typed there stays text.
    page.keyboard.press("/")
    search = page.get_by_label("Search", exact=True)
    expect(search).to_be_focused()
    page.keyboard.type("jkn?/")
    expect(search).to_have_value("jkn?/")
    expect(page.locator("#shortcuts")).to_be_hidden()
    page.keyboard.press("Alt+ArrowDown")
    assert _inbox(objects["board"]) == list(TITLES)

    # "n" opens the new-task form at its title; typing there is the title.
    page.locator("main h1").click()
    page.keyboard.press("n")
    title = page.locator("[data-new-task]").get_by_label("Title")
    expect(title).to_be_focused()
    page.keyboard.type("j/k?")
    expect(title).to_have_value("j/k?")
    expect(page.locator("#shortcuts")).to_be_hidden()
    # A menu in focus: its letters choose options, no card takes the focus.
    page.get_by_label("Priority").first.focus()
    page.keyboard.press("j")
    expect(page.get_by_label("Priority").first).to_be_focused()
    # With Ctrl held a key is the browser's, not a shortcut.
    page.locator("main h1").click()
    page.keyboard.press("Control+j")
    expect(_cards(page).nth(0)).not_to_be_focused()
    page.shot(f"{size}-typing")
    assert page.problems.items == []


def test_a_refused_drop_shows_the_rules_sentence_and_keeps_the_column(console_page):
    from playwright.sync_api import expect

    page = console_page
    page.problems.expect_status("/reorder", 409)
    objects = _board()
    board = objects["board"]
    sign_in(page)
    # The board's refresh answers "nothing changed", so the page still shows the card the
    # database has meanwhile moved to another column.
    page.route(re.compile(r"/live(\?|$)"), lambda route: route.fulfill(status=304))
    page.goto(objects["board_url"])
    moved = objects["tasks"][TITLES[2]]
    rules.update_task(local_operator(), moved, {"status": "in_progress"})
    page.locator(".task-card", has_text=TITLES[2]).drag_to(
        page.locator(".task-card", has_text=TITLES[0]), source_position={"x": 4, "y": 4},
        target_position={"x": 20, "y": 3})
    expect(page.locator("#board-notice")).to_have_text(
        "The task changed column meanwhile; look at the board again and retry.")
    assert _inbox(board) == [TITLES[0], TITLES[1]]
    assert Task.objects.get(pk=moved.pk).position is None
    page.shot("drop-refused")
    assert page.problems.items == []


def test_without_javascript_there_is_no_shortcuts_button(browser, live_server, settings, console_static):
    settings.BASE_URL = live_server.url
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        objects = _board()
        page.goto("/login/")
        page.get_by_label("Access token").fill(settings.LOCAL_AUTH_TOKEN)
        page.get_by_role("button", name="Sign in with token").click()
        page.wait_for_url("**/")
        page.goto(objects["board_url"])
        assert page.get_by_role("button", name="Keyboard shortcuts").count() == 0
        assert page.locator("#shortcuts").is_hidden()
        # The buttons still order the column.
        page.get_by_role("button", name=f"Down one place: “{TITLES[0]}”").click()
        page.wait_for_url(re.compile(r"#task-"))
        assert _inbox(objects["board"]) == [TITLES[1], TITLES[0], TITLES[2]]
    finally:
        context.close()
