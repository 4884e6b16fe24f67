"""axe-core finds no accessibility violation on any console page, on a desktop (1280 x 860)
and on a phone (390 x 844), with real data on each page: the sign-in page, every page the
console's URL patterns serve to GET, a form refused with an error under its field, the
pages shown once after a create (an agent's token, a webhook's secret), the board with a
task open in its drawer (after a change, and after a refused dependency with the picker's
filter in use), the list of keyboard shortcuts open and the 404 page.

Each page is loaded twice: in the test's strict page (the product's CSP, any console error
fails the test, a screenshot is saved) and in axe's page, which ignores CSP so axe can run
(``tests/e2e/axe.py``). A new console page must be added to ``PAGES``; a test below fails
until it is.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from agents import rules
from agents.identity import default_organization, local_operator
from agents.models import (
    Agent,
    AgentMessage,
    Board,
    BoardGroup,
    CustomFieldDefinition,
    Gateway,
    Membership,
    Tag,
    User,
)
from agents.templatetags import console as console_tags
from tests.conftest import skip_or_fail
from tests.e2e.axe import AxeAuditor, axe_source, describe
from tests.e2e.test_console_flow import sign_in
from webhooks.models import Webhook, WebhookPayload

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("console_static", "transactional_db")]

SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
LONG = "Prepare the quarterly infrastructure capacity review with every region's numbers"

# Every console page: (label for the screenshot and the report, URL name, query string).
# The URL's arguments come from the objects ``_fill`` makes, by the argument's name.
PAGES: list[tuple[str, str, str]] = [
    ("dashboard", "console:dashboard", ""),
    ("boards", "console:boards", ""),
    ("board-form", "console:board_create", ""),
    ("board", "console:board", ""),
    ("board-filtered", "console:board", "?status=inbox"),
    ("board-list", "console:board", "?view=list&sort=-due"),
    ("board-list-filtered", "console:board", "?view=list&q=review&tag=infra&priority=whenever"),
    ("board-kanban-filtered", "console:board", "?view=kanban&priority=high&assignee=unassigned"),
    ("board-edit", "console:board_edit", ""),
    ("board-memory", "console:board_memory", ""),
    ("task", "console:task", ""),
    ("approvals", "console:approvals", ""),
    ("agents", "console:agents", ""),
    ("agent", "console:agent", ""),
    ("agent-edit", "console:agent_edit", ""),
    ("gateways", "console:gateways", ""),
    ("gateway", "console:gateway", ""),
    ("gateway-edit", "console:gateway_edit", ""),
    ("tags", "console:tags", ""),
    ("tag-edit", "console:tag_edit", ""),
    ("custom-fields", "console:custom_fields", ""),
    ("custom-field-edit", "console:custom_field_edit", ""),
    ("activity", "console:activity", ""),
    ("operations", "ops_console:operations", ""),
    ("webhooks", "webhooks_console:webhooks", ""),
    ("webhook", "webhooks_console:webhook", ""),
    ("webhook-edit", "webhooks_console:edit", ""),
    ("groups", "console:groups", ""),
    ("group", "console:group", ""),
    ("group-edit", "console:group_edit", ""),
    ("organizations", "console:organizations", ""),
    ("organization", "console:organization", ""),
    ("member-access", "console:member_access", ""),
    ("invitation", "console:invitation", ""),
    ("profile", "console:profile", ""),
]

# GET routes that are not pages: the fragments a page's live refresh fetches (axe checks them
# inside their page), and the sign-in page, checked signed out before the others.
NOT_PAGES = {
    "console:dashboard_live": "live fragment of the dashboard",
    "console:board_live": "live fragment of the board",
    "console:approvals_live": "live fragment of the approvals",
    "console:agent_live": "live fragment of the agent page",
    "console:gateway_live": "live fragment of the gateway page",
    "console:activity_live": "live fragment of the activity timeline",
    "console:board_memory_live": "live fragment of the board memory page",
    "console:agents_live": "live fragment of the agents list",
    "console:task_live": "live fragment of the task page and drawer",
    "console:login": "checked signed out, before the others",
    "console:organization_home": "sends the person on to their organization's page",
}

CONSOLE_URLCONFS = ("agents.console.urls", "webhooks.console_urls", "ops.console")


def _fill() -> dict[str, Any]:
    """Data that fills every part of every page; the URL arguments by name."""
    operator = local_operator()
    org = default_organization()
    gateway = Gateway.objects.create(organization=org, name="Studio gateway", url="ws://127.0.0.1:9")
    group = BoardGroup.objects.create(organization=org, name="Autumn release train", slug="autumn")
    board = Board.objects.create(organization=org, name="Launch of the autumn release", slug="launch",
                                 gateway=gateway, objective="Ship the release notes, the blog post and the demo.",
                                 group=group)
    rules.create_group_memory(operator, group, {"content": "Freeze on Thursday.", "tags": ["chat"]})
    writer = User.objects.create_user(username="ada", email="ada@example.com", first_name="Ada", password="x" * 16)
    membership = Membership.objects.create(user=writer, organization=org, role=Membership.Role.MEMBER)
    invitation, token = rules.create_invitation(operator, org, {"role": "member", "email": "grace@example.com"})
    lead = Agent.objects.create(organization=org, board=board, gateway=gateway, name="Release lead",
                                is_board_lead=True)
    worker = Agent.objects.create(organization=org, board=board, gateway=gateway, name="Documentation writer")
    tag = Tag.objects.create(organization=org, name="Infrastructure", slug="infra")
    points = CustomFieldDefinition.objects.create(organization=org, field_key="estimate", label="Estimate",
                                                  field_type="number", description="Story points.")
    points.boards.add(board)
    tasks = {status: rules.create_task(operator, board, {"title": f"{LONG} ({status})", "priority": "high",
                                                         "description": "What to do, in a few lines."})
             for status in ("inbox", "in_progress", "review", "done")}
    task = tasks["inbox"]
    rules.update_task(operator, tasks["in_progress"], {"status": "in_progress", "assigned_agent_id": str(worker.pk)})
    rules.update_task(operator, task, {"tag_ids": [str(tag.pk)], "depends_on_task_ids": [str(tasks["review"].pk)],
                                       "custom_field_values": {"estimate": 3}})
    rules.add_comment(operator, task, "Numbers from the last quarter are on the shared drive.")
    approval = rules.request_approval(operator, board, {"action_type": "mark_done", "task_id": str(tasks["review"].pk),
                                                        "lead_reasoning": "Checked on staging.", "confidence": 70})
    rules.create_memory(operator, board, {"content": "Remember the changelog.", "tags": ["chat"]})
    message = AgentMessage.objects.create(agent=lead, board_id=board.pk, kind="board_paused", text="Paused.",
                                          status=AgentMessage.Status.DEAD, attempts=5,
                                          last_error="The gateway did not answer.")
    secret = "s3cret"
    webhook = Webhook.objects.create(board=board, description="Triage GitHub pushes.", secret=secret)
    sender = Client()
    body = b'{"ref": "refs/heads/main"}'
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    url = f"/api/v1/boards/{board.pk}/webhooks/{webhook.pk}"
    sender.post(url, data=body, content_type="application/json", headers={"X-Hub-Signature-256": signature})
    sender.post(url, data=body, content_type="application/json")  # refused: unsigned
    payload = WebhookPayload.objects.get(webhook=webhook)
    return {"board_id": board.pk, "task_id": task.pk, "approval_id": approval.pk, "agent_id": lead.pk,
            "message_id": message.pk, "gateway_id": gateway.pk, "tag_id": tag.pk, "field_id": points.pk,
            "webhook_id": webhook.pk, "payload_id": payload.pk, "group_id": group.pk, "organization_id": org.pk,
            "membership_id": membership.pk, "invitation_id": invitation.pk, "token": token}


def _console_routes() -> Iterator[tuple[str, URLPattern]]:
    """(namespaced URL name, pattern) of every console route."""
    for entry in get_resolver().url_patterns:
        if not isinstance(entry, URLResolver) or getattr(entry.urlconf_module, "__name__", "") not in CONSOLE_URLCONFS:
            continue
        for pattern in entry.url_patterns:
            assert isinstance(pattern, URLPattern)
            yield (f"{entry.namespace}:{pattern.name}" if entry.namespace else str(pattern.name)), pattern


def _path(name: str, objects: dict[str, Any], query: str = "") -> str:
    pattern = dict(_console_routes())[name]
    return reverse(name, kwargs={key: objects[key] for key in pattern.pattern.converters}) + query


# --- states a page reaches after a form is sent ------------------------------------------

def _refused_tag(page: Any, objects: dict[str, Any]) -> None:
    page.goto("/tags/")
    page.get_by_label("Name", exact=True).fill("Infrastructure again")
    # Not a colour (typed where the colour picker was): an error under the field it names.
    page.get_by_label("Colour").evaluate("input => { input.type = 'text'; input.value = 'nope'; }")
    page.get_by_role("button", name="Create tag").click()
    page.locator("#id_color_error").wait_for()


def _agent_token(page: Any, objects: dict[str, Any]) -> None:
    page.goto("/agents/")
    page.get_by_label("Name", exact=True).fill(f"Reviewer {uuid.uuid4().hex[:6]}")
    page.get_by_label("Board (optional)").select_option(value=str(objects["board_id"]))
    page.get_by_role("button", name="Create agent").click()
    page.locator("#agent-token").wait_for()


def _webhook_secret(page: Any, objects: dict[str, Any]) -> None:
    page.goto(f"/boards/{objects['board_id']}/webhooks/")
    page.get_by_label("Instruction for the agent").fill("Post deploy notifications in board chat.")
    page.get_by_role("button", name="Create webhook").click()
    page.locator("#webhook-secret").wait_for()


def _task_drawer(page: Any, objects: dict[str, Any]) -> None:
    """The board with a task open in its drawer (htmx), after a change made there."""
    if console_tags.htmx_url() is None:
        skip_or_fail("needs htmx for the task drawer: run scripts/htmx.py install (bootstrap does)")
    page.goto(f"/boards/{objects['board_id']}/")
    page.locator(".task-card h3 a").first.click()
    page.locator("#task-drawer[open] #task-heading").wait_for()
    # Each page of the test changes it: the strict page first, then axe's.
    priority = page.locator("#task-drawer").get_by_label("Priority")
    priority.select_option("low" if priority.input_value() == "urgent" else "urgent")
    page.locator("#task-drawer-notice").get_by_text("Task updated.").wait_for()


def _task_drawer_refused(page: Any, objects: dict[str, Any]) -> None:
    """The drawer with a dependency refused (a cycle: the inbox task already waits for this one),
    its sentence in place and in the alert region, and the picker's filter box in use."""
    if console_tags.htmx_url() is None:
        skip_or_fail("needs htmx for the task drawer: run scripts/htmx.py install (bootstrap does)")
    page.goto(f"/boards/{objects['board_id']}/")
    page.locator(".task-card h3 a", has_text=f"{LONG} (review)").click()
    drawer = page.locator("#task-drawer[open]")
    drawer.get_by_text("Change dependencies and tags").click()
    drawer.get_by_role("searchbox", name="Find a task").fill("(inbox)")
    drawer.get_by_role("checkbox", name=f"{LONG} (inbox)").check()
    drawer.get_by_role("button", name="Save", exact=True).click()
    page.locator("#task-drawer-alert").get_by_text("These dependencies would make a cycle.").wait_for()
    drawer.get_by_role("searchbox", name="Find a task").press_sequentially("(inb")
    drawer.locator(".pick-count").get_by_text("1 of").wait_for()


def _shortcuts(page: Any, objects: dict[str, Any]) -> None:
    """The board with the list of keyboard shortcuts open (shortcuts.js; the "?" key)."""
    page.goto(f"/boards/{objects['board_id']}/")
    page.locator("main h1").click()
    page.keyboard.press("?")
    page.locator("#shortcuts[open]").wait_for()


def _not_found(page: Any, objects: dict[str, Any]) -> None:
    page.goto(f"/boards/{uuid.uuid4()}/")


STATES: list[tuple[str, Callable[[Any, dict[str, Any]], None]]] = [
    ("tag-refused", _refused_tag), ("agent-token", _agent_token), ("webhook-secret", _webhook_secret),
    ("task-drawer", _task_drawer), ("task-drawer-refused", _task_drawer_refused), ("shortcuts", _shortcuts),
    ("not-found", _not_found),
]


@pytest.mark.parametrize("size", SIZES)
def test_no_console_page_has_an_accessibility_violation(console_page, browser, live_server, size):
    axe_source()  # skip (or fail in CI) before any data is made when axe is not installed
    page = console_page
    viewport = SIZES[size]
    page.set_viewport_size(viewport)
    # The states below: a refused form answers 422, the not-found page 404.
    page.problems.expect_status("/tags/", 422)
    page.problems.expect_status("/relations", 422)
    page.problems.expect_status("/boards/", 404)
    objects = _fill()
    found: dict[str, list[str]] = {}

    def check(label: str, violations: list[dict[str, Any]]) -> None:
        if violations:
            found[label] = describe(violations)

    signed_out = AxeAuditor(browser, live_server.url, viewport)
    try:
        check("sign-in", signed_out.violations("/login/"))
    finally:
        signed_out.close()

    sign_in(page)  # saves the sign-in page's screenshot
    auditor = AxeAuditor(browser, live_server.url, viewport, storage_state=page.context.storage_state())
    try:
        for label, name, query in PAGES:
            path = _path(name, objects, query)
            response = page.goto(path)
            assert response is not None and response.status == 200, f"{label}: {path} answered {response}"
            page.shot(f"{size}-{label}")
            check(label, auditor.violations(path))
        for label, reach in STATES:
            reach(page, objects)
            page.shot(f"{size}-{label}")
            reach(auditor.page, objects)
            check(label, auditor.violations_here())
    finally:
        auditor.close()

    report = "\n".join(f"{label}:\n  " + "\n  ".join(lines) for label, lines in found.items())
    assert found == {}, f"axe-core found violations at {size} size:\n{report}"


def test_every_console_page_is_checked_for_accessibility(client):
    """Every console route that answers GET with a whole page is in PAGES (or NOT_PAGES, with
    the reason); every other route refuses GET. A new page fails here until it is listed."""
    objects = _fill()
    client.force_login(local_operator())
    listed = {name for _, name, _ in PAGES}
    assert not listed & NOT_PAGES.keys()
    unlisted, wrong = [], []
    for name, _pattern in _console_routes():
        if name in NOT_PAGES or name == "console:logout":
            continue  # logout: POST only, and a GET that signed out would end this client's session
        response = client.get(_path(name, objects))
        is_page = response.status_code == 200 and b"<!doctype html>" in response.content[:200].lower()
        if response.status_code == 405:
            if name in listed:
                wrong.append(f"{name} is listed but refuses GET")
            continue
        if response.status_code != 200:
            wrong.append(f"{name} answered GET with {response.status_code}: _fill needs the object it shows")
        elif is_page and name not in listed:
            unlisted.append(name)
        elif not is_page:
            wrong.append(f"{name} answers GET with a fragment: list it in NOT_PAGES")
    assert unlisted == [], "console pages that axe does not check: add them to PAGES"
    assert wrong == []


def test_the_check_reports_each_violation_with_the_elements_that_fail(browser, live_server):
    """The check above can fail: on a page with known faults axe names each rule and element."""
    auditor = AxeAuditor(browser, live_server.url, SIZES["desktop"])
    try:
        auditor.page.set_content('<html><body><main><h1>Faults</h1><input id="unnamed">'
                                 '<img src="data:," id="picture"></main></body></html>')
        lines = describe(auditor.violations_here())
    finally:
        auditor.close()
    assert any(line.startswith("html-has-lang (serious)") for line in lines), lines
    assert any(line.startswith("label (critical)") and "#unnamed" in line for line in lines), lines
    assert any(line.startswith("image-alt (critical)") and "#picture" in line for line in lines), lines
