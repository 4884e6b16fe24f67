"""The console's main flow in a real browser: sign in, plan work, approve it, watch a webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import time

import pytest
from django.conf import settings
from playwright.sync_api import expect

from agents.models import Agent, Board, Task
from webhooks.models import Webhook, WebhookPayload

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("console_static", "transactional_db")]


def sign_in(page) -> None:
    page.goto("/")
    assert "/login/" in page.url
    page.shot("sign-in")
    page.get_by_label("Access token").fill(settings.LOCAL_AUTH_TOKEN)
    page.get_by_role("button", name="Sign in with token").click()
    page.wait_for_url("**/")


def move_card(page, title: str, status_label: str) -> None:
    page.get_by_label(f"Move “{title}” to").select_option(label=status_label)
    card = page.locator(".task-card", has_text=title)
    card.get_by_role("button", name="Move").click()
    page.wait_for_load_state()


def test_an_operator_runs_a_task_through_the_workflow_and_watches_a_webhook(console_page):
    page = console_page
    sign_in(page)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.shot("dashboard-empty")

    # A board.
    page.get_by_role("link", name="Boards", exact=True).click()
    page.shot("boards-empty")
    page.get_by_role("link", name="New board").first.click()
    page.shot("board-form")
    page.get_by_label("Name", exact=True).fill("Launch")
    page.get_by_label("Objective").fill("Ship the launch post and the changelog by Friday.")
    page.get_by_role("button", name="Create board").click()
    expect(page.get_by_role("heading", name="Launch")).to_be_visible()
    board = Board.objects.get(name="Launch")
    page.shot("board-empty")
    page.get_by_role("link", name="Edit board").click()
    expect(page.get_by_label("Require review before done")).to_be_visible()
    page.shot("board-settings")

    # An agent: its token is shown once, with a copy button.
    page.get_by_role("link", name="Agents", exact=True).first.click()
    page.get_by_label("Name", exact=True).fill("Scribe")
    page.get_by_label("Board (optional)").select_option(label="Launch")
    page.get_by_label("Board lead").check()
    page.get_by_role("button", name="Create agent").click()
    token = page.locator("#agent-token").inner_text().strip()
    assert token.startswith("mc_")
    expect(page.get_by_role("button", name="Copy").first).to_be_visible()
    page.shot("agent-token")
    assert Agent.objects.filter(name="Scribe", board=board, is_board_lead=True).exists()

    # The page's own instructions bring the agent online.
    command = page.locator("#curl-example").inner_text().split()
    assert command[0] == "curl" and token in " ".join(command)
    heartbeat = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", command[3],
                                "-H", f"X-Agent-Token: {token}"], capture_output=True, text=True, timeout=30,
                               check=False)
    assert heartbeat.stdout == "200", heartbeat.stderr
    page.get_by_role("link", name="Back to agents").click()
    expect(page.locator("tr", has_text="Scribe").locator(".badge.online")).to_be_visible()
    page.shot("agents")

    # A task, created and started from the board.
    page.goto(f"/boards/{board.pk}/")
    page.get_by_label("Title").fill("Write the launch post")
    page.get_by_role("button", name="Create task").click()
    expect(page.locator(".task-card", has_text="Write the launch post")).to_be_visible()
    move_card(page, "Write the launch post", "In progress")
    expect(page.locator(".message.success")).to_be_visible()
    page.shot("board-with-task")

    # Done needs an approval on this board: the console refuses with the rule's own sentence.
    move_card(page, "Write the launch post", "Done")
    refusal = page.locator(".message.error").inner_text()
    assert "approv" in refusal.lower()
    assert Task.objects.get(title="Write the launch post").status == "in_progress"
    page.shot("done-refused")

    # Ask for approval on the task page, approve it in the queue.
    # The card's link opens the task drawer with htmx (test_console_task_drawer.py); here the
    # task's own page, at the link's address.
    page.goto(page.get_by_role("link", name="Write the launch post").get_attribute("href") or "")
    page.locator("summary", has_text="Ask for approval").click()
    page.get_by_label("Why").fill("The post is written and proofread; ready to publish.")
    page.get_by_role("button", name="Request approval").click()
    expect(page.locator(".message.success")).to_be_visible()
    page.shot("task-page")
    page.get_by_role("link", name="Approvals").first.click()
    expect(page.locator(".approval .reason", has_text="The post is written and proofread")).to_be_visible()
    page.shot("approvals-queue")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".message.success")).to_be_visible()
    page.shot("approvals-decided")

    page.goto(f"/boards/{board.pk}/")
    move_card(page, "Write the launch post", "Done")
    expect(page.locator(".message.success")).to_be_visible()
    assert Task.objects.get(title="Write the launch post").status == "done"
    page.shot("board-task-done")

    # A signed webhook: endpoint and secret shown once; a signed post shows up with its delivery.
    page.get_by_role("link", name="Webhooks").click()
    page.shot("webhooks-empty")
    page.get_by_label("Instruction for the agent").fill("Triage new GitHub issues into the inbox.")
    page.get_by_role("button", name="Create webhook").click()
    endpoint = page.locator("#endpoint-url").inner_text().strip()
    secret = page.locator("#webhook-secret").inner_text().strip()
    webhook = Webhook.objects.get(board=board)
    assert endpoint.endswith(webhook.endpoint_path)
    page.shot("webhook-created")

    # The page's own "Try it" command works as printed.
    try_it = subprocess.run(["bash", "-c", page.locator("#try-command").inner_text()], capture_output=True,
                            text=True, timeout=30, check=False)
    assert json.loads(try_it.stdout)["ok"] is True, try_it.stdout + try_it.stderr

    body = json.dumps({"action": "opened", "issue": {"number": 42, "title": "Launch checklist"}})
    signature = "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    result = subprocess.run(
        ["curl", "-sS", "-o", "/dev/stderr", "-w", "%{http_code}", "-X", "POST", endpoint,
         "-H", "Content-Type: application/json", "-H", f"X-Hub-Signature-256: {signature}", "--data-binary", body],
        capture_output=True, text=True, timeout=30, check=False)
    assert result.stdout == "202", result.stderr
    assert WebhookPayload.objects.filter(webhook=webhook).count() == 2

    page.get_by_role("link", name="Open the webhook").click()
    for summary in page.locator("summary", has_text="Payload").all():
        summary.click()
    expect(page.get_by_text('"title": "Launch checklist"')).to_be_visible()
    expect(page.get_by_text('"hello": "mission control"')).to_be_visible()
    expect(page.locator(".badge.pending, .badge.delivered").first).to_be_visible()
    expect(page.get_by_role("button", name="Replay delivery").first).to_be_visible()
    page.shot("webhook-payload")

    # Board memory: what the agents read, including the approval decision and the event.
    page.goto(f"/boards/{board.pk}/memory")
    expect(page.get_by_text("was approved by")).to_be_visible()
    page.get_by_role("textbox", name="Message").fill("Publish on Friday morning, not before.")
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page.get_by_text("Publish on Friday morning, not before.")).to_be_visible()
    page.shot("board-memory")

    # The rest of the console, for the record.
    page.get_by_role("link", name="Dashboard").click()
    page.shot("dashboard")
    page.get_by_role("link", name="Activity").click()
    expect(page.get_by_text("Webhook payload received").first).to_be_visible()
    page.shot("activity")
    page.get_by_role("link", name="Operations").click()
    page.shot("operations")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")

    assert page.problems.items == []


def test_a_phone_sized_screen_gets_a_usable_layout(console_page, live_server):
    page = console_page
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page)
    page.shot("phone-dashboard")
    page.get_by_role("link", name="Approvals").click()
    page.shot("phone-approvals")
    from agents import rules
    from agents.identity import default_organization, local_operator

    board = Board.objects.create(organization=default_organization(), name="Pocket", slug="pocket")
    for title in ("Reply to the customer", "Fix the footer link", "Plan the week"):
        rules.create_task(local_operator(), board, {"title": title})
    page.goto(f"/boards/{board.pk}/")
    page.shot("phone-board")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    # Every page of the navigation is on screen, none hidden past the edge.
    for link in page.locator(".nav a").all():
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1, link.inner_text()
    page.locator(".task-card h3 a", has_text="Plan the week").click()
    page.shot("phone-task")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    page.goto("/approvals/")

    # The keyboard reaches the skip link first, and it lands on the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    # Nothing overflows the screen sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    assert page.problems.items == []


def test_the_board_refreshes_itself_cheaply_when_work_arrives(console_page):
    from agents import rules
    from agents.identity import default_organization, local_operator

    page = console_page
    sign_in(page)
    operator = local_operator()
    board = Board.objects.create(organization=default_organization(), name="Live", slug="live")
    rules.create_task(operator, board, {"title": "Already there"})
    questions: list[int] = []
    fragments: list[int] = []
    page.on("response", lambda response: (questions if "/live/changes" in response.url else fragments).append(
        response.status) if "/live" in response.url else None)
    page.goto(f"/boards/{board.pk}/")

    # The first question learns the version (200), the fragment check that follows finds the
    # board as shown (304); then, while nothing changes, each question is answered 204.
    with page.expect_response(lambda response: "/boards/" in response.url and response.url.endswith("/live"),
                              timeout=20_000) as first_check:
        pass
    assert first_check.value.status == 304
    with page.expect_response(lambda response: "/live/changes" in response.url and response.status == 204,
                              timeout=20_000):
        pass
    assert questions[0] == 200 and set(questions[1:]) == {204}
    assert fragments == [304]

    changed_at = time.monotonic()
    rules.create_task(operator, board, {"title": "Arrived while watching", "priority": "urgent"})
    page.locator(".task-card", has_text="Arrived while watching").wait_for(timeout=20_000)
    # Pages ask every 1.5 s: a change shows within 2 s (a loaded test machine gets some slack).
    assert time.monotonic() - changed_at < 4
    assert 200 in fragments
    page.shot("board-live-update")

    # A card dragged onto another column moves there, through the same form and rules.
    page.locator(".task-card", has_text="Already there").drag_to(page.locator('.column[data-status="in_progress"]'))
    page.locator(".message.success").wait_for()
    assert Task.objects.get(title="Already there").status == "in_progress"

    page.emulate_media(color_scheme="dark")
    page.shot("board-dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 18, 22)"

    # The dark theme on the pages with the most colours: the queue and a task.
    task = Task.objects.get(title="Already there")
    rules.request_approval(operator, board, {"action_type": "mark_done", "task_id": str(task.pk),
                                             "lead_reasoning": "Checked on staging.", "confidence": 60})
    page.goto("/approvals/")
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    page.shot("approvals-dark")
    page.goto(f"/boards/{board.pk}/tasks/{task.pk}/")
    page.shot("task-dark")
    assert page.problems.items == []


def test_a_wrong_token_is_refused_in_the_browser_with_a_sentence(console_page):
    page = console_page
    page.problems.expect_status("/login/", 401)
    page.goto("/login/")
    page.get_by_label("Access token").fill("not-the-token")
    page.get_by_role("button", name="Sign in with token").click()
    assert page.get_by_role("alert").inner_text() == "That token is not right."
    page.shot("sign-in-refused")
    assert page.problems.items == []
