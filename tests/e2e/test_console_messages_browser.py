"""In a real browser: a board's agents are paused and resumed from its page, and an agent's
page shows what was pushed to it and sends a given-up message again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from agents.gateway import outbox
from agents.models import Agent, AgentMessage, Board, BoardMemory, Gateway, Organization
from tests.e2e.test_console_flow import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("console_static", "transactional_db")]


def test_pause_resume_and_send_a_message_again(console_page):
    page = console_page
    org = Organization.objects.create(name="Acme", slug="acme", is_default=True)
    gateway = Gateway.objects.create(organization=org, name="Acme gateway", url="ws://127.0.0.1:9")
    board = Board.objects.create(organization=org, name="Launch", slug="launch", gateway=gateway)
    lead = Agent.objects.create(organization=org, board=board, gateway=gateway, name="Lead", is_board_lead=True)
    sign_in(page)

    page.goto(f"/boards/{board.pk}/")
    page.get_by_role("button", name="Pause agents").click()
    page.wait_for_load_state()
    expect(page.get_by_text("Agents paused")).to_be_visible()
    page.shot("board-paused")
    assert BoardMemory.objects.filter(board=board, content="/pause", is_chat=True).exists()
    page.get_by_role("button", name="Resume agents").click()
    page.wait_for_load_state()
    expect(page.get_by_role("button", name="Pause agents")).to_be_visible()
    [paused, resumed] = AgentMessage.objects.filter(agent=lead).order_by("id")
    AgentMessage.objects.filter(pk=paused.pk).update(status=AgentMessage.Status.DEAD, attempts=outbox.MAX_ATTEMPTS,
                                                     batch_key="mc-msg-x", last_error="The gateway did not answer.")
    page.goto(f"/agents/{lead.pk}/")
    expect(page.get_by_role("heading", name="Messages pushed to it")).to_be_visible()
    page.shot("agent-messages")
    page.get_by_role("button", name="Send again").click()
    page.wait_for_load_state()
    paused.refresh_from_db()
    assert paused.status == AgentMessage.Status.PENDING
    expect(page.get_by_text("1 message queued again for Lead.")).to_be_visible()
    page.shot("agent-message-resent")
    assert resumed.kind == "board_resumed"
