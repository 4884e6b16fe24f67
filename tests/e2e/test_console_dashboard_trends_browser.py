"""The dashboard's trends in a real browser: the charts drawn from a history of two weeks,
their values readable as a table, the range changed from its menu and kept in the URL,
the colours of the dark theme, and the page no wider than a phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agents import rules
from agents.identity import default_organization, local_operator
from agents.models import ActivityEvent, Agent, Board, Gateway
from tests.e2e.test_console_flow import sign_in
from webhooks.models import Webhook, WebhookDelivery, WebhookPayload

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("console_static", "transactional_db")]

PHONE = {"width": 390, "height": 844}


def _history() -> Board:
    """Two weeks of work: tasks finished on several days, an agent checking in, deliveries."""
    org = default_organization()
    operator = local_operator()
    gateway = Gateway.objects.create(organization=org, name="Gateway", url="ws://gateway.test:18789")
    board = Board.objects.create(organization=org, name="Release", slug="release", gateway=gateway)
    agent = Agent.objects.create(organization=org, board=board, gateway=gateway, name="Writer",
                                 last_seen_at=timezone.now())
    now = timezone.now()
    # Halfway through today (UTC) and as far into each earlier day: never tomorrow, nor the day before.
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    base = midnight + (now - midnight) / 2
    for n in range(10):
        task = rules.create_task(operator, board, {"title": f"Chapter {n}"})
        finished = base - timedelta(days=n % 7)
        for to, before in (("in_progress", timedelta(hours=1 + n)), ("done", timedelta(0))):
            ActivityEvent.objects.create(event_type="task.status_changed", actor_type="system",
                                         organization_id=org.pk, board_id=board.pk, task_id=task.pk,
                                         data={"from": "x", "to": to}, created_at=finished - before)
        ActivityEvent.objects.create(event_type="agent.heartbeat", actor_type="agent", actor_agent_id=agent.pk,
                                     organization_id=org.pk, board_id=board.pk, agent_id=agent.pk,
                                     created_at=base - timedelta(days=n))
    webhook = Webhook.objects.create(board=board, description="CI events")
    for n, status in enumerate(("delivered", "delivered", "failed", "dead", "delivered")):
        payload = WebhookPayload.objects.create(webhook=webhook, board=board, payload={"n": n})
        WebhookDelivery.objects.create(payload=payload, agent=agent, status=status,
                                       created_at=base - timedelta(days=n))
    return board


def test_the_dashboard_shows_trends_over_the_chosen_range(console_page):
    page = console_page
    _history()
    sign_in(page)

    page.goto("/?range_key=14d")
    trends = page.get_by_role("region", name="Trends")
    expect(trends).to_be_visible()
    for name in ("Tasks opened and closed", "Cycle time", "Approvals waiting", "Webhook deliveries",
                 "Agents active"):
        expect(trends.get_by_role("heading", name=name)).to_be_visible()
    tasks_chart = page.locator("#chart-tasks")
    expect(tasks_chart.get_by_role("img")).to_have_attribute("aria-label", "Tasks opened and closed per day, "
                                                             + _span(14) + ": 10 opened, 10 closed.")
    expect(tasks_chart.locator("rect.chart-closed")).to_have_count(7)
    expect(page.locator("#chart-deliveries rect.chart-failed")).to_have_count(2)
    page.shot("dashboard-trends-14d")

    # The values behind a chart, as a table.
    tasks_chart.get_by_text("Values per day").click()
    table = tasks_chart.get_by_role("table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(14)
    page.shot("dashboard-trends-values")

    # Another range from the menu: the URL keeps it, the charts follow.
    page.get_by_label("Range").select_option(label="Last 30 days")
    page.wait_for_url("**/?range_key=30d**")
    expect(page.locator("#chart-tasks tbody tr")).to_have_count(30)
    expect(page.get_by_text("Last 30 days · all boards")).to_be_visible()

    # A range that does not exist is said in words.
    page.goto("/?range_key=forever")
    expect(page.get_by_role("status").filter(has_text="is not one of the ranges")).to_be_visible()
    expect(page.locator("#chart-tasks tbody tr")).to_have_count(2)


def test_the_trends_follow_the_dark_theme_and_fit_a_phone(console_page):
    page = console_page
    _history()
    sign_in(page)

    page.emulate_media(color_scheme="dark")
    page.goto("/?range_key=30d")
    bar = page.locator("#chart-tasks rect.chart-closed").first
    expect(bar).to_be_visible()
    # The dark theme's green, not the light one's (#177245).
    assert bar.evaluate("e => getComputedStyle(e).fill") == "rgb(95, 211, 148)"
    page.shot("dashboard-trends-dark")

    page.emulate_media(color_scheme="light")
    page.set_viewport_size(PHONE)
    page.goto("/?range_key=90d")
    expect(page.locator("#chart-agents")).to_be_visible()
    page.shot("phone-dashboard-trends-90d")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.locator("#chart-tasks svg").bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]


def _span(days: int) -> str:
    today = timezone.now().date()
    first = today - timedelta(days=days - 1)
    return f"{first.day} {first:%b} to {today.day} {today:%b} (UTC)"
