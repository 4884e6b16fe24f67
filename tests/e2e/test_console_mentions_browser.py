"""In a real browser: typing "@" in a comment or a chat message offers the board's agents,
the keyboard picks one, and the posted text links the mention."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from agents.models import Agent, Board, Organization, Task
from tests.e2e.test_console_flow import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("console_static", "transactional_db")]


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_comment_mentions_an_agent_picked_from_the_suggestions(console_page, size):
    page = console_page
    if size == "phone":
        page.set_viewport_size({"width": 390, "height": 844})
    org = Organization.objects.create(name="Acme", slug="acme", is_default=True)
    board = Board.objects.create(organization=org, name="Launch", slug="launch")
    Agent.objects.create(organization=org, board=board, name="Lead", is_board_lead=True)
    writer = Agent.objects.create(organization=org, board=board, name="Writer")
    Agent.objects.create(organization=org, board=board, name="Wrangler")
    task = Task.objects.create(board=board, title="Write the launch post")
    sign_in(page)

    page.goto(f"/boards/{board.pk}/tasks/{task.pk}/")
    box = page.get_by_role("textbox", name="Comment", exact=True)
    box.click()
    box.press_sequentially("Please look, @W")
    suggestions = page.get_by_role("listbox", name="People and agents to mention")
    options = suggestions.get_by_role("option")
    expect(options).to_have_count(2)
    expect(suggestions).to_be_visible()
    page.shot(f"{size}-mention-suggestions")
    box.press_sequentially("r")
    expect(options).to_have_text(["@Wrangler", "@Writer"])
    box.press("ArrowDown")
    expect(suggestions.get_by_role("option", name="@Writer")).to_have_attribute("aria-selected", "true")
    box.press("Enter")  # takes the suggestion; does not send the form
    expect(box).to_have_value("Please look, @Writer ")
    expect(suggestions).to_be_hidden()
    box.press_sequentially("@le")
    expect(options).to_have_text(["@Lead"])
    box.press("Escape")
    expect(suggestions).to_be_hidden()
    expect(box).to_have_value("Please look, @Writer @le")
    box.fill("Please look, @Writer")
    page.get_by_role("button", name="Post comment").click()
    page.wait_for_load_state()
    expect(page.locator(".comment a", has_text="@Writer").first).to_have_attribute("href", f"/agents/{writer.pk}/")
