"""A real OpenClaw 2026.9.6 agent, provisioned by Mission Control, takes a task to done.

The model is the scripted one (scripted_model.py); everything between it and Mission
Control is the real runtime: the workspace files we wrote become its system prompt, its
exec tool runs the ``curl`` commands, the messages of the outbox start its turns. A person
registers the gateway (API), creates the board, the lead, the worker and the task in the
console (chromium), and later approves there; the rest happens by itself, with the worker
(``db_worker``'s jobs) running in this process and Mission Control serving the agents'
calls on a live server whose address is the workspace files' ``BASE_URL``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import expect
from rest_framework.test import APIClient

from agents import identity
from agents.gateway import pool
from agents.models import ActivityEvent, Agent, AgentMessage, Approval, Board, Task, TaskComment
from tests.conftest import STRICT_SERVICES, database_engine
from tests.gateway.agent_runtime import allow_curl_to, configure, scripted_provider
from tests.gateway.real import OPENCLAW_96, GatewayNotInstalled, GatewayStartError, RealGateway
from tests.gateway.scripted_model import APPROVED, ASSIGNED, REVIEW, ScriptedModel
from tests.gateway.test_real_provisioning import register
from tests.webhooks.conftest import run_worker

pytestmark = [pytest.mark.e2e, pytest.mark.openclaw, pytest.mark.xdist_group("openclaw-agent"),
              pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("console_static")]

# A turn of 2026.9.6 on 2 busy cores takes 30-90 s from chat.send to the model's first
# request (system prompt, session baseline); the scenario has about six of them in a row.
STEP_TIMEOUT = 420.0


@pytest.fixture(scope="module")
def scripted_model() -> Iterator[ScriptedModel]:
    model = ScriptedModel().start()
    yield model
    model.stop()


@pytest.fixture(scope="module")
def agent_gateway(scripted_model: ScriptedModel) -> Iterator[RealGateway]:
    """A 2026.9.6 gateway of this module's own: its agents run turns, which would slow the
    shared one down for the other tests."""
    if database_engine() != "postgresql":
        # The agents' calls reach the live server's threads while this one runs the worker's
        # jobs: several writers at once, which is what Postgres is for. CI runs this test in
        # its Postgres pass.
        pytest.skip("runs when DATABASE_URL points at Postgres")
    try:
        real = RealGateway.launch(OPENCLAW_96)
    except GatewayNotInstalled as error:
        if STRICT_SERVICES:
            pytest.fail(str(error))
        pytest.skip(f"needs the real OpenClaw {OPENCLAW_96}: {error}")
    try:
        real.wait_until_ready()
    except GatewayStartError as error:
        real.stop(remove_home=False)
        pytest.fail(str(error), pytrace=False)
    configure(real, scripted_provider(scripted_model))
    yield real
    real.stop()


@pytest.fixture(autouse=True)
def fresh_pool() -> Iterator[None]:
    yield
    pool.close_all()


def work_until(what: str, done: Callable[[], Any], timeout: float = STEP_TIMEOUT) -> Any:
    """Runs the jobs that are due, as ``db_worker`` does, until ``done()`` answers something."""
    deadline = time.monotonic() + timeout
    while True:
        run_worker()
        answer = done()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting {timeout:.0f} s for {what}")
        time.sleep(1.0)


def in_order(seen: list[str], wanted: list[tuple[str, ...]]) -> bool:
    """Whether ``seen`` has, in this order, a command containing all the parts of each of ``wanted``
    (other commands may come between: a re-wake of a slow agent adds a heartbeat)."""
    position = 0
    for command in seen:
        if position < len(wanted) and all(part in command for part in wanted[position]):
            position += 1
    return position == len(wanted)


def test_a_provisioned_agent_takes_a_task_through_review_to_done(agent_gateway, scripted_model, live_server,
                                                                  console_page):
    real, model = agent_gateway, scripted_model
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.LOCAL_AUTH_TOKEN}")
    try:
        scenario(real, model, live_server.url, console_page, api)
    except BaseException:
        print(f"--- gateway log tail ({real.console_log}):\n{real.log_tail(120)}")
        print(f"--- scripted model transcript ({len(model.requests)} requests):\n{model.transcript(60)}")
        raise


def sign_in(page) -> None:
    page.goto("/")
    page.get_by_label("Access token").fill(settings.LOCAL_AUTH_TOKEN)
    page.get_by_role("button", name="Sign in with token").click()
    page.wait_for_url("**/")


def scenario(real: RealGateway, model: ScriptedModel, base_url: str, page, api: APIClient) -> None:
    started = time.monotonic()
    # The operator sets the gateway up (its own config and approvals) and registers it (API).
    policy = allow_curl_to(real, base_url)
    print("exec policy:", json.dumps(policy)[:2000])
    gateway = register(api, real, identity.default_organization())

    # A person creates the board, its lead, a worker and the worker's task in the console.
    sign_in(page)
    page.get_by_role("link", name="Boards", exact=True).click()
    page.get_by_role("link", name="New board").first.click()
    page.get_by_label("Name", exact=True).fill("Release")
    page.get_by_label("Objective").fill("Ship the release notes.")
    page.get_by_label("Gateway").select_option(label=gateway.name)
    assert page.get_by_label("Require an approval before done").is_checked()
    page.get_by_role("button", name="Create board").click()
    expect(page.get_by_role("heading", name="Release")).to_be_visible()
    board = Board.objects.get(name="Release")
    assert board.gateway_id == gateway.pk
    page.shot("board")
    for name, lead in (("Lead", True), ("Writer", False)):
        page.get_by_role("link", name="Agents", exact=True).first.click()
        page.get_by_label("Name", exact=True).fill(name)
        page.get_by_label("Board (optional)").select_option(label="Release")
        if lead:
            page.get_by_label("Board lead").check()
        page.get_by_role("button", name="Create agent").click()
        assert page.locator("#agent-token").inner_text().strip().startswith("mc_")
    page.shot("agent-created")
    lead, worker = Agent.objects.get(board=board, is_board_lead=True), Agent.objects.get(board=board, name="Writer")
    page.goto(f"/boards/{board.pk}/")
    page.get_by_label("Title").fill("Write the release notes")
    page.get_by_label("Description").fill("A page listing what changed.")
    page.get_by_label("Assignee").select_option(label="Writer")
    page.get_by_role("button", name="Create task").click()
    expect(page.locator(".task-card", has_text="Write the release notes")).to_be_visible()
    page.shot("task-created")
    task = Task.objects.get(board=board)
    assert task.assigned_agent_id == worker.pk and task.status == Task.Status.INBOX

    # From here on nobody helps: provisioned, woken, checked in, told, working.
    def online() -> bool:
        worker.refresh_from_db()
        return worker.presence() == "online"

    work_until("the worker's first check-in", online)
    assert ActivityEvent.objects.filter(event_type="agent.heartbeat", agent_id=worker.pk).exists()
    [wake, *_] = [d for d in model.decisions if d.agent == str(worker.pk)]
    assert wake.command and f"{base_url}/api/v1/agent/heartbeat" in wake.command, model.transcript()

    def in_review() -> bool:
        task.refresh_from_db()
        return task.status == Task.Status.REVIEW

    work_until("the worker to hand the task in", in_review)
    assigned = AgentMessage.objects.get(agent=worker, kind="task_assigned")
    assert assigned.status == AgentMessage.Status.SENT and str(task.pk) in assigned.text
    comments = list(TaskComment.objects.filter(task=task, author_agent=worker).order_by("created_at"))
    assert len(comments) == 2 and str(task.pk) in comments[0].message, [c.message for c in comments]
    worker_commands = model.commands(str(worker.pk))
    assert in_order(worker_commands, [("-X POST", "/api/v1/agent/heartbeat"),
                                      (f"/tasks?assigned_agent_id={worker.pk}",),
                                      ("-X PATCH", f"/tasks/{task.pk} ", '"status": "in_progress"'),
                                      ("-X POST", f"/tasks/{task.pk}/comments"),
                                      ("-X PATCH", f"/tasks/{task.pk} ", '"status": "review"')]), model.transcript()
    assert all(command.startswith("curl -fsS") and base_url in command for command in worker_commands)

    def approval_asked() -> Approval | None:
        return Approval.objects.filter(board=board, task_links__task=task).first()

    approval = work_until("the lead to ask for the done approval", approval_asked)
    assert approval.agent_id == lead.pk and approval.status == Approval.Status.PENDING
    assert approval.action_type == "mark_done"
    review = AgentMessage.objects.get(agent=lead, kind="review_requested")
    assert review.status == AgentMessage.Status.SENT

    # The person approves in the console; the lead, told, finishes the task.
    page.goto("/approvals/")
    expect(page.locator(".approval .reason", has_text="The worker reported the task done")).to_be_visible()
    page.shot("approval-asked")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".message.success")).to_be_visible()
    approval.refresh_from_db()
    assert approval.status == Approval.Status.APPROVED

    def done() -> bool:
        task.refresh_from_db()
        return task.status == Task.Status.DONE

    work_until("the lead to move the task to done", done)
    lead_commands = model.commands(str(lead.pk))
    # The lead's wake-up and the review message can reach the runtime as one turn, which the
    # model answers from its last message: the lead need not have checked in before this.
    assert in_order(lead_commands, [("-X POST", f"/boards/{board.pk}/approvals", '"action_type": "mark_done"',
                                     f'"task_id": "{task.pk}"'),
                                    ("-X PATCH", f"/tasks/{task.pk} ", '"status": "done"')]), model.transcript()
    triggers = [(d.agent, d.trigger) for d in model.decisions if d.step == 0]
    assert triggers.index((str(worker.pk), ASSIGNED)) < triggers.index((str(lead.pk), REVIEW)) \
        < triggers.index((str(lead.pk), APPROVED)), triggers

    # The activity feed tells the same story, in order, with who did each step.
    events = list(ActivityEvent.objects.filter(task_id=task.pk).order_by("created_at")
                  .values_list("event_type", "actor_type", "actor_agent_id", "data"))
    story = [(kind, actor, agent, (data or {}).get("status") or (data or {}).get("to"))
             for kind, actor, agent, data in events]
    moves = [(agent, to) for kind, _, agent, to in story if kind == "task.status_changed"]
    assert moves == [(worker.pk, "in_progress"), (worker.pk, "review"), (lead.pk, "done")], story
    assert [kind for kind, *_ in story].count("task.commented") >= 1, story
    feed = api.get(f"/api/v1/activity?board_id={board.pk}&limit=100")
    assert feed.status_code == 200, feed.content
    kinds = {item["event_type"] for item in feed.json()["items"]}
    assert {"task.created", "task.status_changed", "approval.requested", "approval.resolved"} <= kinds, kinds
    page.goto(f"/boards/{board.pk}/")
    page.shot("task-done")
    print(f"scenario took {time.monotonic() - started:.0f} s; the model answered {len(model.requests)} requests")
