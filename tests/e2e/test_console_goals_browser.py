"""A board's goal and its tasks' due dates in a real browser: set the goal on the board
form, see it in the board's header, give a task a due date that has passed, see it marked
overdue on its card and its page, and filter the board by it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from agents.models import Board, Task
from tests.e2e.test_console_flow import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("console_static", "transactional_db")]


def test_an_operator_sets_a_goal_and_sees_overdue_tasks(console_page):
    page = console_page
    sign_in(page)

    # The board form takes the goal.
    page.goto("/boards/new")
    page.get_by_label("Name", exact=True).fill("Beta launch")
    page.get_by_label("Objective").fill("Open the public beta")
    page.get_by_label("Kind of board").select_option(label="Goal")
    page.get_by_label("Target date").fill("2027-03-31")
    page.get_by_label("Success metrics").fill("signups: 100\nlaunch: public beta")
    page.get_by_label("Goal confirmed").check()
    page.shot("board-goal-form")
    page.get_by_role("button", name="Create board").click()
    expect(page.locator(".message.success")).to_be_visible()
    board = Board.objects.get(name="Beta launch")
    assert board.success_metrics == {"signups": 100, "launch": "public beta"} and board.goal_confirmed

    # Its header shows it.
    goal = page.locator(".goal")
    expect(goal.get_by_text("Goal confirmed")).to_be_visible()
    expect(goal.get_by_text("31 March 2027")).to_be_visible()
    expect(goal.get_by_text("public beta")).to_be_visible()

    # A task due yesterday is overdue on its card.
    page.get_by_label("Title").fill("Write the announcement")
    page.get_by_label("Due (UTC)").fill("2020-01-01T09:00")
    page.get_by_role("button", name="Create task").click()
    card = page.locator(".task-card", has_text="Write the announcement")
    expect(card.locator(".badge.overdue", has_text="Overdue")).to_be_visible()
    expect(card.get_by_text("Due 1 Jan 2020, 09:00 UTC")).to_be_visible()
    page.locator("summary", has_text="New task").click()
    page.get_by_label("Title").fill("Plan the webinar")
    page.get_by_role("button", name="Create task").click()
    expect(page.locator(".task-card", has_text="Plan the webinar")).to_be_visible()
    page.shot("board-goal-and-overdue")

    # The board's filter lists the overdue task only.
    page.get_by_label("Due", exact=True).select_option(label="Overdue")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator(".task-card", has_text="Write the announcement")).to_be_visible()
    expect(page.get_by_role("link", name="Plan the webinar")).to_have_count(0)
    # The list view with the same filter names it in its heading.
    page.get_by_role("link", name="List", exact=True).click()
    expect(page.get_by_role("heading", name="Overdue")).to_be_visible()
    expect(page.get_by_role("link", name="Write the announcement")).to_be_visible()
    expect(page.get_by_role("link", name="Plan the webinar")).to_have_count(0)
    page.shot("board-overdue-filter")

    # The task page says so too, and a later due date clears it.
    page.get_by_role("link", name="Write the announcement").click()
    expect(page.locator("h1 + p .badge.overdue")).to_be_visible()
    page.get_by_label("Due (UTC)").fill("2099-01-01T09:00")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".message.success")).to_be_visible()
    expect(page.locator(".badge.overdue")).to_have_count(0)
    assert Task.objects.get(title="Write the announcement").due_at.year == 2099
    page.shot("task-due-later")
