"""Custom fields in a real browser: define one for a board, create a task with its value,
change the value on the task page, and filter the board by it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from agents.models import CustomFieldDefinition, Task
from tests.conftest import make_board
from tests.e2e.test_console_flow import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("console_static", "transactional_db")]


def test_an_operator_defines_a_field_sets_it_on_tasks_and_filters_the_board(console_page):
    page = console_page
    sign_in(page)
    from agents.identity import default_organization

    org = default_organization()
    board = make_board(org, "Launch")

    # Define a required select field for the board.
    page.get_by_role("link", name="Custom fields").click()
    page.shot("custom-fields-empty")
    page.get_by_label("Label").fill("Stage")
    page.get_by_label("Key", exact=True).fill("stage")
    page.get_by_label("Type").select_option(label="Choice from a list")
    page.get_by_label("Options (optional)").fill("Draft\nReview\nPublished")
    page.get_by_label("Required").check()
    page.get_by_label("Launch").check()
    page.get_by_role("button", name="Create custom field").click()
    expect(page.locator(".message.success")).to_be_visible()
    expect(page.locator("td", has_text="Draft, Review, Published")).to_be_visible()
    page.shot("custom-fields")
    assert list(CustomFieldDefinition.objects.get().boards.all()) == [board]

    # A new task asks for it.
    page.goto(f"/boards/{board.pk}/")
    page.get_by_label("Title").fill("Write the launch post")
    page.get_by_label("Stage").select_option(label="Draft")
    page.get_by_role("button", name="Create task").click()
    expect(page.locator(".task-card", has_text="Write the launch post")).to_be_visible()
    page.locator("summary", has_text="New task").click()  # folded once the board has a task
    page.get_by_label("Title").fill("Plan the webinar")
    page.get_by_label("Stage").select_option(label="Review")
    page.get_by_role("button", name="Create task").click()
    expect(page.locator(".task-card", has_text="Plan the webinar")).to_be_visible()
    assert Task.objects.get(title="Write the launch post").custom_field_values == {"stage": "Draft"}
    page.shot("board-with-fields")

    # The task page shows and changes it.
    # The card's link opens the task drawer with htmx (test_console_task_drawer.py); here the
    # task's own page, at the link's address.
    page.goto(page.get_by_role("link", name="Write the launch post").get_attribute("href") or "")
    expect(page.locator("#custom-fields dd", has_text="Draft")).to_be_visible()
    page.locator("summary", has_text="Change custom fields").click()
    page.locator("#custom-fields").get_by_label("Stage").select_option(label="Published")
    page.locator("#custom-fields").get_by_role("button", name="Save").click()
    expect(page.locator(".message.success", has_text="Custom fields saved.")).to_be_visible()
    assert Task.objects.get(title="Write the launch post").custom_field_values == {"stage": "Published"}
    page.shot("task-with-fields")

    # The board filters by it.
    page.goto(f"/boards/{board.pk}/")
    page.get_by_label("Custom field", exact=True).select_option(label="Stage")
    page.get_by_label("Field value").fill("Review")
    page.get_by_role("button", name="Apply filters").click()
    # The kanban stays a kanban, with only the matching cards.
    expect(page.locator(".task-card", has_text="Plan the webinar")).to_be_visible()
    expect(page.get_by_role("link", name="Write the launch post")).to_have_count(0)
    page.shot("board-filtered")
    # The list view with the same filter names it in its heading.
    page.get_by_role("link", name="List", exact=True).click()
    expect(page.get_by_role("heading", name="Stage: Review")).to_be_visible()
    expect(page.get_by_role("link", name="Plan the webinar")).to_be_visible()
    expect(page.get_by_role("link", name="Write the launch post")).to_have_count(0)
    page.shot("board-filtered-list")
