"""On a phone (390 x 844) no console page is wider than the screen, with enough data on each
to fill its widest parts: long names, every board column, tables of agents, refusals and
payloads. The board's columns stack; nothing needs sideways scrolling to be read."""

from __future__ import annotations

import pytest
from django.test import Client

from agents import rules
from agents.identity import default_organization, local_operator
from agents.models import Agent, Board, BoardGroup, CustomFieldDefinition, Gateway, Tag
from tests.e2e.test_console_flow import sign_in
from webhooks.models import Webhook

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("console_static", "transactional_db")]

PHONE = {"width": 390, "height": 844}
LONG = "Prepare the quarterly infrastructure capacity review with every region's numbers"


def _fill() -> dict[str, str]:
    """Data for every page, and the path of each page to visit."""
    operator = local_operator()
    org = default_organization()
    gateway = Gateway.objects.create(organization=org, name="Studio gateway on the build machine",
                                     url="wss://gateway-with-a-rather-long-host-name.internal.example:18789")
    group = BoardGroup.objects.create(organization=org, name="Autumn release train with every board",
                                      slug="autumn", description="Web, docs and the demo ship together.",
                                      heartbeat_every="15m")
    board = Board.objects.create(organization=org, name="Launch of the autumn release", slug="launch",
                                 gateway=gateway, objective="Ship the release notes, the blog post and the demo.",
                                 group=group)
    lead = Agent.objects.create(organization=org, board=board, gateway=gateway, name="Release lead agent",
                                is_board_lead=True)
    worker = Agent.objects.create(organization=org, board=board, gateway=gateway,
                                  name="Documentation writer with a long name")
    Tag.objects.create(organization=org, name="Infrastructure and operations", slug="infra")
    points = CustomFieldDefinition.objects.create(organization=org, field_key="estimate_in_story_points",
                                                  label="Estimate in story points", field_type="number",
                                                  description="How big the team thinks the task is.")
    points.boards.add(board)
    tasks = {}
    for status in ("inbox", "in_progress", "review", "done"):
        tasks[status] = rules.create_task(operator, board, {"title": f"{LONG} ({status})", "priority": "urgent",
                                                            "description": "A" * 300})
    rules.update_task(operator, tasks["in_progress"], {"status": "in_progress", "assigned_agent_id": str(worker.pk)})
    rules.request_approval(operator, board, {"action_type": "mark_done", "task_id": str(tasks["review"].pk),
                                             "lead_reasoning": "Checked on staging " * 10, "confidence": 70})
    rules.create_memory(operator, board, {"content": "Remember: " + "https://example.com/a/very/long/link/" * 3,
                                          "tags": ["chat"]})
    rules.create_group_memory(operator, group, {"content": "Freeze: " + "https://example.com/a/long/link/" * 3,
                                                "tags": ["chat"]})
    webhook = Webhook.objects.create(board=board, description="Triage GitHub pushes to the main branch.",
                                     secret="s3cret")
    sender = Client()
    sender.post(f"/api/v1/boards/{board.pk}/webhooks/{webhook.pk}", data=b'{"a": 1}', content_type="application/json",
                headers={"User-Agent": "GitHub-Hookshot/abcdef0123456789 with a long sender description"})
    task = tasks["inbox"]
    return {
        "dashboard": "/", "boards": "/boards/", "board form": "/boards/new",
        "board": f"/boards/{board.pk}/", "board column": f"/boards/{board.pk}/?status=inbox",
        "board list": f"/boards/{board.pk}/?view=list&sort=priority",
        "board list filtered": f"/boards/{board.pk}/?view=list&q=review&tag=infra&due=none&priority=oops",
        "board kanban filtered": f"/boards/{board.pk}/?view=kanban&priority=urgent&q=quarterly",
        "board edit": f"/boards/{board.pk}/edit", "board memory": f"/boards/{board.pk}/memory",
        "task": f"/boards/{board.pk}/tasks/{task.pk}/",
        "approvals": "/approvals/", "agents": "/agents/", "agent": f"/agents/{lead.pk}/",
        "agent edit": f"/agents/{worker.pk}/edit",
        "gateways": "/gateways/", "gateway": f"/gateways/{gateway.pk}/", "gateway edit": f"/gateways/{gateway.pk}/edit",
        "tags": "/tags/", "custom fields": "/custom-fields/",
        "custom field edit": f"/custom-fields/{points.pk}/edit", "activity": "/activity/", "operations": "/operations/",
        "webhooks": f"/boards/{board.pk}/webhooks/", "webhook": f"/boards/{board.pk}/webhooks/{webhook.pk}/",
        "webhook edit": f"/boards/{board.pk}/webhooks/{webhook.pk}/edit",
        "groups": "/groups/", "group": f"/groups/{group.pk}/", "group edit": f"/groups/{group.pk}/edit",
    }


def test_no_console_page_is_wider_than_a_phone(console_page):
    page = console_page
    page.set_viewport_size(PHONE)
    pages = _fill()
    sign_in(page)
    too_wide = {}
    for name, path in pages.items():
        page.goto(path)
        page.shot("phone-" + name.replace(" ", "-"))
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[name] = width
    assert too_wide == {}


def test_the_board_stacks_its_columns_on_a_phone(console_page):
    page = console_page
    page.set_viewport_size(PHONE)
    _fill()
    board = Board.objects.get(slug="launch")
    sign_in(page)
    page.goto(f"/boards/{board.pk}/")
    boxes = [page.locator(f'.column[data-status="{status}"]').bounding_box()
             for status in ("inbox", "in_progress", "review", "done")]
    assert all(box is not None for box in boxes)
    # One above the other, each as wide as the screen allows.
    assert [round(box["x"]) for box in boxes] == [round(boxes[0]["x"])] * 4  # type: ignore[index]
    assert all(boxes[i]["y"] < boxes[i + 1]["y"] for i in range(3))  # type: ignore[index]
    assert all(box["x"] + box["width"] <= PHONE["width"] for box in boxes)  # type: ignore[index]
    # Every card's move control is on screen.
    for select in page.locator(".task-card select").all():
        box = select.bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"]
