"""In a real browser, without the API: an agent is changed and deleted, a webhook is changed,
its refused requests show on its page, and a refused form keeps what was typed."""

from __future__ import annotations

import subprocess

import pytest
from playwright.sync_api import expect

from agents.identity import default_organization
from agents.models import Agent, Board, Task
from tests.e2e.test_console_flow import sign_in
from webhooks.models import Webhook

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("console_static", "transactional_db")]


def test_an_operator_maintains_agents_and_webhooks_in_the_console(console_page, live_server):
    page = console_page
    org = default_organization()
    board = Board.objects.create(organization=org, name="Launch", slug="launch")
    Agent.objects.create(organization=org, board=board, name="Scribe", is_board_lead=True)
    helper = Agent.objects.create(organization=org, board=board, name="Helper")
    webhook = Webhook.objects.create(board=board, description="Triage pushes.", secret="s3cret")
    sign_in(page)

    # A refused task keeps what was typed.
    page.goto(f"/boards/{board.pk}/")
    new_task = page.locator("details", has=page.locator("summary", has_text="New task"))
    if new_task.get_attribute("open") is None:
        new_task.locator("summary").click()
    # Spaces pass the browser's own check; the server finds no title in them.
    page.get_by_label("Title").fill("   ")
    page.get_by_label("Description").fill("Every step, in order.")
    page.problems.expect_status(f"/boards/{board.pk}/tasks/new", 422)
    page.get_by_role("button", name="Create task").click()
    expect(page.get_by_label("Description")).to_have_value("Every step, in order.")
    expect(page.locator(".errorlist", has_text="This field is required.")).to_be_visible()
    page.shot("task-refused-kept")
    assert not Task.objects.filter(board=board).exists()

    # An agent is renamed, then refused a second lead with the rule's sentence.
    page.goto(f"/agents/{helper.pk}/")
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Name").fill("Writer")
    page.get_by_role("button", name="Save agent").click()
    expect(page.locator(".message.success")).to_contain_text("Agent Writer saved.")
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Board lead").check()
    page.problems.expect_status(f"/agents/{helper.pk}/edit", 422)
    page.get_by_role("button", name="Save agent").click()
    expect(page.locator(".message.error", has_text="already has")).to_be_visible()
    page.shot("agent-edit-refused")
    helper.refresh_from_db()
    assert helper.name == "Writer" and not helper.is_board_lead

    # Deleted by typing its name.
    page.goto(f"/agents/{helper.pk}/")
    page.get_by_label("Type Writer to confirm").fill("Writer")
    page.get_by_role("button", name="Delete agent").click()
    expect(page.locator(".message.success")).to_contain_text("Agent Writer deleted.")
    assert not Agent.objects.filter(pk=helper.pk).exists()

    # A sender with the wrong secret shows up on the webhook's page.
    endpoint = live_server.url + webhook.endpoint_path
    for _ in range(2):
        answer = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", endpoint,
                                 "-H", "Content-Type: application/json", "-H", "X-Hub-Signature-256: sha256=00",
                                 "-A", "Example-Sender/2.0", "--data", '{"a": 1}'],
                                capture_output=True, text=True, timeout=30, check=False)
        assert answer.stdout == "403", answer.stderr
    page.goto(f"/boards/{board.pk}/webhooks/{webhook.pk}/")
    refused = page.locator("#refused")
    expect(refused.locator("h2")).to_contain_text("Refused requests 2")
    expect(refused).to_contain_text("Wrong signature 2")
    expect(refused.locator("td", has_text="Example-Sender/2.0").first).to_be_visible()
    page.shot("webhook-refusals")

    # The webhook is changed from its page.
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Instruction for the agent").fill("Triage pushes to main only.")
    page.get_by_role("button", name="Save webhook").click()
    expect(page.locator(".message.success")).to_contain_text("Webhook saved.")
    expect(page.get_by_role("heading", name="Triage pushes to main only.")).to_be_visible()
    webhook.refresh_from_db()
    assert webhook.description == "Triage pushes to main only." and webhook.secret == "s3cret"

    # And deleted, once the box is ticked.
    page.get_by_label("Delete it and everything it received").check()
    page.get_by_role("button", name="Delete webhook").click()
    expect(page.locator(".message.success")).to_contain_text("Webhook deleted")
    assert not Webhook.objects.filter(pk=webhook.pk).exists()
    page.shot("webhook-deleted")
