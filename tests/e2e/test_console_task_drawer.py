"""The task drawer in a browser, on a desktop (1280 x 860) and a phone (390 x 844), under the
product's CSP (the fixture fails the test on any console error, a CSP violation included):
a card opens its task in the drawer and the address becomes the task's page; a status menu
changed there saves at once, the card moves to its new column and focus stays on the menu;
a refusal shows the rule's sentence in the drawer (and its alert region, which screen readers
hear); Escape closes it, the board's address comes back and focus returns to the card. Comments
are posted, dependencies picked by typing in the picker and approvals asked for in the drawer. The task's address opened directly is the full
page, and without JavaScript the card's link opens that page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings

from agents import rules
from agents.identity import default_organization, local_operator
from agents.models import Agent, Board, Gateway, Task
from agents.templatetags import console as console_tags
from tests.conftest import skip_or_fail
from tests.e2e.test_console_flow import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("console_static", "transactional_db")]

SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
TITLE = "Draft the release notes for every region and every product line"


def require_htmx() -> None:
    if console_tags.htmx_url() is None:
        skip_or_fail("needs htmx: run scripts/htmx.py install (bootstrap does)")


def _fill(*, approval_for_done: bool = False) -> dict[str, Any]:
    operator = local_operator()
    org = default_organization()
    gateway = Gateway.objects.create(organization=org, name="Studio gateway", url="ws://127.0.0.1:9")
    board = Board.objects.create(organization=org, name="Launch", slug="launch", gateway=gateway,
                                 require_approval_for_done=approval_for_done)
    worker = Agent.objects.create(organization=org, board=board, gateway=gateway, name="Documentation writer")
    task = rules.create_task(operator, board, {"title": TITLE, "priority": "medium",
                                               "description": "Every change since the last release."})
    rules.create_task(operator, board, {"title": "Another task", "priority": "low"})
    board_url = f"/boards/{board.pk}/"
    return {"board_url": board_url, "task_url": f"{board_url}tasks/{task.pk}/", "task": task, "worker": worker}


def _open_drawer(page: Any, objects: dict[str, Any], title: str = TITLE, *, go: bool = True) -> Any:
    from playwright.sync_api import expect

    if go:
        page.goto(objects["board_url"])
    page.locator(".task-card h3 a", has_text=title).click()
    drawer = page.locator("#task-drawer")
    expect(drawer).to_be_visible()
    expect(drawer.get_by_role("heading", level=1)).to_have_text(title)
    if title == TITLE:
        expect(page).to_have_url(re.compile(re.escape(objects["task_url"]) + "$"))
    return drawer


@pytest.mark.parametrize("size", SIZES)
def test_a_card_opens_the_drawer_a_change_moves_the_card_and_escape_returns_to_it(console_page, size):
    from playwright.sync_api import expect

    require_htmx()
    page = console_page
    viewport = SIZES[size]
    page.set_viewport_size(viewport)
    objects = _fill()
    sign_in(page)
    drawer = _open_drawer(page, objects)
    # The dialog is modal: focus is inside it, on its Close button.
    expect(drawer.get_by_role("button", name="Close")).to_be_focused()
    page.shot(f"{size}-drawer-open")

    if size == "phone":
        box = drawer.bounding_box()
        assert box is not None
        assert (round(box["x"]), round(box["y"])) == (0, 0)
        assert (round(box["width"]), round(box["height"])) == (viewport["width"], viewport["height"])
        assert drawer.evaluate("d => d.scrollWidth <= d.clientWidth"), "the drawer scrolls sideways"
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]

    # A person reaches the menu first (a click, or Tab); select_option alone does not focus it.
    status = drawer.get_by_label("Status")
    status.focus()
    status.select_option("in_progress")
    expect(page.locator("#task-drawer-notice")).to_have_text("Task updated.")
    expect(drawer.get_by_label("Status")).to_be_focused()
    # The board behind refreshed: the card is in its new column.
    expect(page.locator('.column[data-status="in_progress"] .task-card', has_text=TITLE)).to_be_visible()
    task = Task.objects.get(pk=objects["task"].pk)
    assert task.status == "in_progress"

    assignee = drawer.get_by_label("Assignee")
    assignee.focus()
    assignee.select_option(label="Documentation writer")
    expect(drawer.locator("dl.props")).to_contain_text("Documentation writer")
    expect(drawer.get_by_label("Assignee")).to_be_focused()
    priority = drawer.get_by_label("Priority")
    priority.focus()
    priority.select_option("urgent")
    expect(drawer.locator(".page-head")).to_contain_text("Urgent priority")
    expect(drawer.get_by_label("Priority")).to_be_focused()
    task.refresh_from_db()
    assert (task.assigned_agent_id, task.priority) == (objects["worker"].pk, "urgent")
    page.shot(f"{size}-drawer-edited")

    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    expect(page).to_have_url(re.compile(re.escape(objects["board_url"]) + "$"))
    card_link = page.locator(".task-card h3 a", has_text=TITLE)
    expect(card_link).to_be_focused()

    # The card was replaced by the board's refresh; its new link opens the drawer too. The
    # title is sent with Save changes, through the same form.
    card_link.click()
    expect(drawer).to_be_visible()
    drawer.get_by_text("Title and description").click()
    drawer.get_by_label("Title").fill("Release notes, final")
    drawer.get_by_role("button", name="Save changes").click()
    expect(drawer.get_by_role("heading", level=1)).to_have_text("Release notes, final")
    expect(page.locator(".task-card h3 a", has_text="Release notes, final")).to_have_count(1)
    drawer.get_by_role("button", name="Close").click()
    expect(drawer).to_be_hidden()
    expect(page.locator(".task-card h3 a", has_text="Release notes, final")).to_be_focused()
    assert page.problems.items == []


@pytest.mark.parametrize("size", SIZES)
def test_a_refused_change_shows_the_rules_sentence_in_the_drawer(console_page, size):
    from playwright.sync_api import expect

    require_htmx()
    page = console_page
    page.set_viewport_size(SIZES[size])
    page.problems.expect_status("/edit", 422)
    objects = _fill(approval_for_done=True)
    sign_in(page)
    drawer = _open_drawer(page, objects)
    drawer.get_by_label("Status").focus()
    drawer.get_by_label("Status").select_option("done")
    expect(drawer).to_contain_text("On this board a task needs an approved mark_done approval")
    expect(drawer.get_by_label("Status")).to_be_focused()
    expect(drawer.get_by_label("Status")).to_have_value("done")
    page.shot(f"{size}-drawer-refused")
    assert Task.objects.get(pk=objects["task"].pk).status == "inbox"
    drawer.get_by_role("button", name="Close").click()
    expect(drawer).to_be_hidden()
    expect(page.locator(".task-card h3 a", has_text=TITLE)).to_be_focused()
    assert page.problems.items == []


def test_the_task_address_opened_directly_is_the_full_page(console_page):
    from playwright.sync_api import expect

    page = console_page
    objects = _fill()
    sign_in(page)
    page.goto(objects["task_url"])
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("#task-drawer")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("heading", name="Comments")).to_be_visible()
    page.shot("task-page")
    assert page.problems.items == []


def test_without_javascript_the_card_opens_the_task_page(browser, live_server):
    objects = _fill()
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/login/")
        page.get_by_label("Access token").fill(settings.LOCAL_AUTH_TOKEN)
        page.get_by_role("button", name="Sign in with token").click()
        page.wait_for_url("**/")
        page.goto(objects["board_url"])
        page.locator(".task-card h3 a", has_text=TITLE).click()
        page.wait_for_url(re.compile(re.escape(objects["task_url"]) + "$"))
        assert page.get_by_role("heading", level=1).inner_text() == TITLE
        assert page.get_by_role("heading", name="Comments").count() == 1
    finally:
        context.close()


def test_signed_out_meanwhile_a_card_goes_to_the_sign_in_page_not_into_the_drawer(console_page):
    from playwright.sync_api import expect

    require_htmx()
    page = console_page
    objects = _fill()
    sign_in(page)
    page.goto(objects["board_url"])
    page.context.clear_cookies()
    page.locator(".task-card h3 a", has_text=TITLE).click()
    page.wait_for_url(re.compile(r"/login/"))
    expect(page.get_by_label("Access token")).to_be_visible()
    expect(page.locator("#task-drawer")).to_have_count(0)
    assert page.problems.items == []


def test_the_drawers_comment_box_suggests_the_boards_agents(console_page):
    from playwright.sync_api import expect

    require_htmx()
    page = console_page
    objects = _fill()
    sign_in(page)
    drawer = _open_drawer(page, objects)
    box = drawer.get_by_role("textbox", name="Comment (optional)")
    box.click()
    box.press_sequentially("Over to @Doc")
    suggestions = drawer.get_by_role("listbox", name="People and agents to mention")
    expect(suggestions.get_by_role("option")).to_have_text(["@Documentation writer"])
    box.press("Tab")
    expect(box).to_have_value("Over to @Documentation writer ")
    page.shot("desktop-drawer-mention")


def _alert_text(page: Any) -> str:
    return page.locator("#task-drawer-alert").inner_text().strip()


@pytest.mark.parametrize("size", SIZES)
def test_a_comment_is_posted_in_the_drawer_and_a_refused_one_says_why_in_place(console_page, size):
    from playwright.sync_api import expect

    require_htmx()
    page = console_page
    page.set_viewport_size(SIZES[size])
    page.problems.expect_status("/comments", 422)
    objects = _fill()
    sign_in(page)
    drawer = _open_drawer(page, objects)
    comments = drawer.locator("#comments")
    expect(comments).to_contain_text("No comments yet.")
    box = comments.get_by_role("textbox", name="Comment", exact=True)
    box.fill("The **French** notes come last.")
    comments.get_by_role("button", name="Post comment").click()
    expect(page.locator("#task-drawer-notice")).to_have_text("Comment posted.")
    expect(comments.locator("article.comment")).to_have_count(1)
    expect(comments.locator("article.comment strong")).to_have_text("French")
    # Focus stays on the button that posted it (its copy in the new fragment), inside the dialog.
    expect(drawer.get_by_role("button", name="Post comment")).to_be_focused()
    # The board behind refreshed: the card counts the comment.
    expect(page.locator(".task-card", has_text=TITLE)).to_contain_text("1 comment")
    assert _alert_text(page) == ""
    page.shot(f"{size}-drawer-comment-posted")

    # Only spaces: refused, the sentence under the box and in the alert, nothing posted.
    box = drawer.locator("#comments").get_by_role("textbox", name="Comment", exact=True)
    box.fill("   ")
    drawer.get_by_role("button", name="Post comment").click()
    expect(drawer.locator("#drawer-message_error")).to_have_text("This field is required.")
    expect(page.locator("#task-drawer-alert")).to_have_text("Not saved: Comment: This field is required.")
    expect(page.locator("#task-drawer-notice")).to_have_text("")
    expect(drawer.locator("#comments article.comment")).to_have_count(1)
    page.shot(f"{size}-drawer-comment-refused")
    assert objects["task"].comments.count() == 1
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    assert page.problems.items == []


@pytest.mark.parametrize("size", SIZES)
def test_a_dependency_is_picked_by_typing_in_the_drawer_and_a_cycle_is_refused_with_the_rules_sentence(
        console_page, size):
    from playwright.sync_api import expect

    require_htmx()
    page = console_page
    viewport = SIZES[size]
    page.set_viewport_size(viewport)
    page.problems.expect_status("/relations", 422)
    objects = _fill()
    rules.create_task(local_operator(), objects["task"].board, {"title": "Collect the screenshots", "priority": "low"})
    sign_in(page)
    drawer = _open_drawer(page, objects)
    drawer.get_by_text("Change dependencies and tags").click()
    finder = drawer.get_by_role("searchbox", name="Find a task")
    expect(drawer.locator(".pick-chosen")).to_have_text("None chosen.")
    finder.press_sequentially("scree")
    picks = drawer.locator("#drawer-depends_on")
    expect(picks.get_by_role("checkbox")).to_have_count(1)  # the others are hidden, out of the tree
    expect(drawer.locator(".pick-count")).to_have_text("1 of 2 shown.")
    # Escape in a box with text empties it and leaves the drawer open.
    finder.press("Escape")
    expect(drawer).to_be_visible()
    expect(picks.get_by_role("checkbox")).to_have_count(2)
    finder.press_sequentially("SCREE")
    finder.press("ArrowDown")
    choice = picks.get_by_role("checkbox", name="Collect the screenshots")
    expect(choice).to_be_focused()
    page.keyboard.press("Space")
    expect(choice).to_be_checked()
    expect(drawer.locator(".pick-chosen")).to_have_text("Chosen: Collect the screenshots.")
    if size == "phone":
        assert drawer.evaluate("d => d.scrollWidth <= d.clientWidth"), "the drawer scrolls sideways"
    page.shot(f"{size}-drawer-picker")
    page.keyboard.press("Tab")
    save = drawer.get_by_role("button", name="Save", exact=True)
    expect(save).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#task-drawer-notice")).to_have_text("Dependencies and tags saved.")
    expect(drawer.locator("#dependencies .list")).to_contain_text("Collect the screenshots")
    # The section stays open, focus on the new copy of its Save button.
    expect(drawer.get_by_role("button", name="Save", exact=True)).to_be_focused()
    expect(drawer.locator(".page-head")).to_contain_text("Blocked")
    assert [t.title for t in objects["task"].depends_on.all()] == ["Collect the screenshots"]
    # The chosen task comes first in the list now, ticked.
    expect(drawer.locator("#drawer-depends_on li").first).to_contain_text("Collect the screenshots")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()

    # The other way round would close a loop: the rule refuses it, its sentence in place.
    drawer = _open_drawer(page, objects, "Collect the screenshots", go=False)
    drawer.get_by_text("Change dependencies and tags").click()
    finder = drawer.get_by_role("searchbox", name="Find a task")
    finder.press_sequentially("release notes")
    finder.press("Enter")  # goes to the match, does not send the form
    expect(drawer.get_by_role("checkbox", name=TITLE)).to_be_focused()
    page.keyboard.press("Space")
    drawer.get_by_role("button", name="Save", exact=True).click()
    sentence = "These dependencies would make a cycle."
    expect(drawer.locator("#dependencies .message.error")).to_have_text(sentence)
    expect(page.locator("#task-drawer-alert")).to_have_text(f"Not saved: {sentence}")
    expect(page.locator("#task-drawer-alert")).to_have_attribute("role", "alert")
    expect(drawer.get_by_role("checkbox", name=TITLE)).to_be_checked()
    expect(drawer.get_by_role("button", name="Save", exact=True)).to_be_focused()
    page.shot(f"{size}-drawer-cycle-refused")
    collect = Task.objects.get(title="Collect the screenshots")
    assert list(collect.depends_on.all()) == []
    assert list(objects["task"].depends_on.all()) == [collect]
    assert page.problems.items == []


def test_an_approval_is_asked_for_in_the_drawer(console_page):
    from playwright.sync_api import expect

    require_htmx()
    page = console_page
    objects = _fill(approval_for_done=True)
    sign_in(page)
    drawer = _open_drawer(page, objects)
    approvals = drawer.locator("#approvals")
    expect(approvals).to_contain_text("This board needs an approved request before the task can be done.")
    approvals.get_by_text("Ask for approval").click()
    approvals.get_by_label("Why").fill("The notes are proofread.")
    approvals.get_by_role("button", name="Request approval").click()
    expect(page.locator("#task-drawer-notice")).to_have_text("Approval requested. It waits in the approvals queue.")
    expect(drawer.locator("#approvals")).to_contain_text("The notes are proofread.")
    expect(drawer.locator(".page-head")).to_contain_text("Awaiting approval")
    expect(drawer.locator("#approvals").get_by_text("Ask for approval")).to_have_count(0)
    # The form that was sent is gone: focus is on its section's heading, still in the dialog.
    expect(drawer.get_by_role("heading", name="Approvals")).to_be_focused()
    page.shot("desktop-drawer-approval")
    assert list(objects["task"].approvals.values_list("status", "lead_reasoning")) == [
        ("pending", "The notes are proofread.")]
    assert page.problems.items == []


def test_on_the_task_page_the_picker_filters_and_without_javascript_its_checkboxes_post(console_page, browser,
                                                                                        live_server):
    from playwright.sync_api import expect

    page = console_page
    objects = _fill()
    sign_in(page)
    page.goto(objects["task_url"])
    page.get_by_text("Change dependencies and tags").click()
    finder = page.get_by_role("searchbox", name="Find a task")
    finder.press_sequentially("nothing like it")
    expect(page.locator(".pick-count")).to_have_text("None matches “nothing like it”.")
    expect(page.locator("#id_depends_on").get_by_role("checkbox")).to_have_count(0)
    finder.fill("")
    finder.press_sequentially("another")
    page.get_by_role("checkbox", name="Another task").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".message.success")).to_have_text("Dependencies and tags saved.")
    assert [t.title for t in objects["task"].depends_on.all()] == ["Another task"]

    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.goto("/login/")
        plain.get_by_label("Access token").fill(settings.LOCAL_AUTH_TOKEN)
        plain.get_by_role("button", name="Sign in with token").click()
        plain.wait_for_url("**/")
        plain.goto(objects["task_url"])
        plain.get_by_text("Change dependencies and tags").click()
        assert plain.get_by_role("searchbox").count() == 0  # no filter box: the list is the control
        chosen = plain.get_by_role("checkbox", name="Another task")
        assert chosen.is_checked()
        chosen.uncheck()
        plain.get_by_role("button", name="Save", exact=True).click()
        plain.wait_for_url(re.compile(re.escape(objects["task_url"]) + "$"))
        assert "It depends on no other task." in plain.content()
    finally:
        context.close()
    assert list(objects["task"].depends_on.all()) == []
