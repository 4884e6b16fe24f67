"""Every agent route against the whole cast, with both header forms.

Callers: the board's lead and worker, the main agent of the board's gateway, a worker of
another organization, a rotated (revoked) token and no token at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from agents.tokens import mint_token
from tests.agents.agent_client import HEADER_FORMS, agent_client
from tests.agents.api_helpers import listed_paths, routes_with_modules
from tests.conftest import make_task

pytestmark = pytest.mark.django_db

LEAD, WORKER, MAIN = "lead", "worker", "main"
ALL = (LEAD, WORKER, MAIN)
BOARD = (LEAD, WORKER)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    roles: tuple[str, ...]
    success: int
    on_board: bool = True
    body: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def approval_body(task_id: str) -> dict[str, Any]:
    return {"action_type": "mark_done", "task_id": task_id, "confidence": 80,
            "lead_reasoning": "The work is finished and checked."}


ROUTES = [
    Route("get", "/api/v1/agent/healthz", ALL, 200, on_board=False),
    Route("post", "/api/v1/agent/heartbeat", ALL, 200, on_board=False),
    Route("get", "/api/v1/agent/boards", ALL, 200, on_board=False),
    Route("get", "/api/v1/agent/boards/{board}", ALL, 200),
    Route("get", "/api/v1/agent/agents", ALL, 200, on_board=False),
    Route("get", "/api/v1/agent/agents?board_id={board}", ALL, 200),
    Route("post", "/api/v1/agent/agents", (LEAD,), 201, on_board=False, body={"name": "New worker"}),
    Route("get", "/api/v1/agent/boards/{board}/tasks", BOARD, 200),
    Route("post", "/api/v1/agent/boards/{board}/tasks", (LEAD,), 201, body={"title": "Write the launch notes"}),
    Route("patch", "/api/v1/agent/boards/{board}/tasks/{task}", BOARD, 200),
    Route("delete", "/api/v1/agent/boards/{board}/tasks/{task}", (LEAD,), 200),
    Route("get", "/api/v1/agent/boards/{board}/tasks/{task}/comments", BOARD, 200),
    Route("post", "/api/v1/agent/boards/{board}/tasks/{task}/comments", BOARD, 201, body={"message": "On it."}),
    Route("get", "/api/v1/agent/boards/{board}/memory", ALL, 200),
    Route("post", "/api/v1/agent/boards/{board}/memory", ALL, 201, body={"content": "Deploy at noon.", "tags": ["chat"]}),
    Route("get", "/api/v1/agent/boards/{board}/approvals", BOARD, 200),
    Route("post", "/api/v1/agent/boards/{board}/approvals", BOARD, 201),
    Route("get", "/api/v1/agent/boards/{board}/tags", BOARD, 200),
    Route("get", "/api/v1/agent/boards/{board}/custom-fields", BOARD, 200),
    # A board's group, on the paths the earlier server's workspace files name (the board is in a group).
    Route("get", "/api/v1/boards/{board}/group-memory", BOARD, 200),
    Route("post", "/api/v1/boards/{board}/group-memory", BOARD, 201,
          body={"content": "The API changes on Friday.", "tags": ["chat"]}),
    Route("get", "/api/v1/boards/{board}/group-snapshot", BOARD, 200),
    # Coordination ({agent} is the board's worker).
    Route("post", "/api/v1/agent/boards/{board}/agents/{agent}/nudge", (LEAD,), 202,
          body={"message": "Look at the inbox."}),
    Route("get", "/api/v1/agent/boards/{board}/agents/{agent}/soul", BOARD, 200),
    Route("put", "/api/v1/agent/boards/{board}/agents/{agent}/soul", (LEAD,), 200,
          body={"content": "# Soul\nBe brief."}),
    Route("delete", "/api/v1/agent/boards/{board}/agents/{agent}", (LEAD,), 200),
    Route("post", "/api/v1/agent/boards/{board}/gateway/main/ask-user", (LEAD,), 202,
          body={"content": "May we ship on Friday?"}),
    Route("post", "/api/v1/agent/gateway/boards/{board}/lead/message", (MAIN,), 202,
          body={"content": "What is the status?"}),
    Route("post", "/api/v1/agent/gateway/leads/broadcast", (MAIN,), 202, on_board=False,
          body={"content": "Code freeze at five."}),
    Route("get", "/api/v1/agent/boards/{board}/webhooks/{webhook}/payloads/{payload}", BOARD, 200),
    # The heartbeat paths of older workspaces: the token says who checks in.
    Route("post", "/api/v1/agents/heartbeat", ALL, 200, on_board=False),
    Route("post", "/api/v1/agents/{self}/heartbeat", ALL, 200, on_board=False),  # the caller's own id
]

CALLERS = ("lead", "worker", "main_agent", "foreign_agent", "revoked", "no_token")
ROLE_OF = {"lead": LEAD, "worker": WORKER, "main_agent": MAIN, "foreign_agent": WORKER}


def expected(route: Route, caller: str) -> tuple[int, str | None]:
    if caller in ("revoked", "no_token"):
        return 401, None
    if ROLE_OF[caller] not in route.roles:
        return 403, "agent_role_not_allowed"
    if caller == "foreign_agent" and route.on_board:
        return 403, "board_out_of_reach"
    return route.success, None


def call(route: Route, caller: str, form: str, cast: dict[str, Any]) -> Any:
    board, task = cast["board"], cast["task"]
    if caller == "no_token":
        token = None
    elif caller == "revoked":
        token = mint_token(cast["worker"])
        mint_token(cast["worker"])
    else:
        token = mint_token(cast[caller])
    body = dict(route.body)
    if route.method == "patch":
        body = {"description": "Sharper scope."} if caller == "lead" else {"status": "in_progress"}
    if route.path.endswith("/approvals") and route.method == "post":
        body = approval_body(str(task.id))
    own = cast["worker"] if caller in ("no_token", "revoked") else cast[caller]
    path = route.path.format(board=board.id, task=task.id, agent=cast["worker"].id, webhook=cast["webhook"].id,
                             payload=cast["payload"].id, self=own.id)
    client = agent_client(token, form)
    return getattr(client, route.method)(path, body or None, format="json")


@pytest.fixture
def cast(org, board, lead, worker, main_agent, foreign_agent):
    from agents.models import BoardGroup
    from webhooks.models import Webhook, WebhookPayload

    board.group = BoardGroup.objects.create(organization=org, name="Launch group", slug="launch-group")
    board.save()
    webhook = Webhook.objects.create(board=board, description="Deploys")
    payload = WebhookPayload.objects.create(webhook=webhook, board=board, payload={"ref": "main"})
    return {"webhook": webhook, "payload": payload, "board": board, "lead": lead, "worker": worker, "main_agent": main_agent,
            # The worker holds the task: a worker asks for approvals only on tasks it holds.
            "foreign_agent": foreign_agent, "task": make_task(board, "Ship it", assigned_agent=worker)}


@pytest.mark.parametrize("form", HEADER_FORMS)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_each_route_answers_each_caller_as_its_role_allows(route, caller, form, cast):
    want_status, want_code = expected(route, caller)

    response = call(route, caller, form, cast)

    assert response.status_code == want_status, response.content
    body = response.json()
    if want_status >= 400:
        assert set(body) == {"detail", "request_id"}
    if want_code is not None:
        assert body["detail"]["code"] == want_code
    if route.method == "delete" and want_status == 200:
        assert body == {"ok": True}


@pytest.mark.parametrize("route", [r for r in ROUTES if r.on_board], ids=str)
def test_the_main_agent_cannot_reach_another_organizations_board(route, main_agent, other_board):
    task = make_task(other_board, "Their task")
    path = route.path.format(board=other_board.id, task=task.id, agent=uuid.uuid4(), webhook=uuid.uuid4(),
                             payload=uuid.uuid4())
    body = approval_body(str(task.id)) if route.path.endswith("/approvals") else route.body

    response = getattr(agent_client(mint_token(main_agent)), route.method)(path, body or None, format="json")

    assert response.status_code in (403, 404)
    assert response.json()["detail"]["code"] in ("board_out_of_reach", "agent_role_not_allowed")


@pytest.mark.parametrize("caller", ["lead", "worker"])
def test_a_board_agent_cannot_reach_another_board_of_its_own_organization(caller, cast, org, gateway):
    from tests.conftest import make_board

    sibling = make_board(org, "Sibling", gateway=gateway)

    response = agent_client(mint_token(cast[caller])).get(f"/api/v1/agent/boards/{sibling.id}")

    assert response.status_code == 403
    assert response.json()["detail"]["code"] == "board_out_of_reach"


def test_an_unknown_board_is_404(lead):
    response = agent_client(mint_token(lead)).get("/api/v1/agent/boards/00000000-0000-0000-0000-000000000000")

    assert response.status_code == 404
    assert response.json()["detail"]["code"] == "board_not_found"


def test_a_task_of_another_board_is_404_on_this_board(lead, board, other_board):
    foreign_task = make_task(other_board, "Not ours")

    response = agent_client(mint_token(lead)).patch(
        f"/api/v1/agent/boards/{board.id}/tasks/{foreign_task.id}", {"description": "x"}, format="json")

    assert response.status_code == 404
    assert response.json()["detail"]["code"] == "task_not_found"


def test_agent_tokens_open_only_the_few_reads_of_the_user_api_meant_for_them(worker, board):
    token = mint_token(worker)

    for form in HEADER_FORMS:
        client = agent_client(token, form)
        assert client.get(f"/api/v1/boards/{board.id}/tasks").status_code == 200
        for response in (client.get(f"/api/v1/boards/{board.id}"), client.get("/api/v1/agents"),
                         client.patch(f"/api/v1/boards/{board.id}", {"name": "Mine"}, format="json")):
            assert response.status_code in (401, 403), response.content
        write = client.post(f"/api/v1/boards/{board.id}/tasks", {"title": "Sneaky"}, format="json")
        assert write.status_code == 403 and write.json()["detail"]["code"] == "people_only"


PEOPLE_GROUP_ROUTES = [("get", "/api/v1/board-groups"), ("post", "/api/v1/board-groups"),
                       ("get", "/api/v1/board-groups/{group}"), ("patch", "/api/v1/board-groups/{group}"),
                       ("delete", "/api/v1/board-groups/{group}"), ("get", "/api/v1/board-groups/{group}/memory"),
                       ("post", "/api/v1/board-groups/{group}/memory"), ("get", "/api/v1/board-groups/{group}/snapshot"),
                       ("post", "/api/v1/board-groups/{group}/heartbeat")]


@pytest.mark.parametrize("caller", ["lead", "worker", "main_agent", "foreign_agent"])
@pytest.mark.parametrize(("method", "path"), PEOPLE_GROUP_ROUTES, ids=lambda value: value)
def test_an_agent_token_does_not_open_the_peoples_group_routes(method, path, caller, cast):
    from agents.models import BoardGroup

    group = cast["board"].group
    client = agent_client(mint_token(cast[caller]))

    response = getattr(client, method)(path.format(group=group.pk), {"name": "Sneaky", "content": "x",
                                                                     "every": "1m"}, format="json")

    assert response.status_code == 401, response.content
    assert BoardGroup.objects.filter(pk=group.pk, name="Launch group").exists()


# The organization and people routes are the people's own: no agent token opens any of
# them, whatever the agent's role or organization, in either header form.
PEOPLE_ROUTES = [
    ("get", "/api/v1/organizations"),
    ("post", "/api/v1/organizations"),
    ("get", "/api/v1/organizations/{org}"),
    ("patch", "/api/v1/organizations/{org}"),
    ("post", "/api/v1/organizations/{org}/leave"),
    ("post", "/api/v1/organizations/{org}/transfer-ownership"),
    ("get", "/api/v1/organizations/{org}/members"),
    ("get", "/api/v1/organizations/{org}/members/{membership}"),
    ("patch", "/api/v1/organizations/{org}/members/{membership}"),
    ("delete", "/api/v1/organizations/{org}/members/{membership}"),
    ("put", "/api/v1/organizations/{org}/members/{membership}/board-access"),
    ("get", "/api/v1/organizations/{org}/invitations"),
    ("post", "/api/v1/organizations/{org}/invitations"),
    ("delete", "/api/v1/organizations/{org}/invitations/{invitation}"),
    ("post", "/api/v1/invitations/accept"),
    ("get", "/api/v1/users/me/profile"),
    ("patch", "/api/v1/users/me/profile"),
]


@pytest.mark.parametrize("form", HEADER_FORMS)
@pytest.mark.parametrize("caller", ("lead", "worker", "main_agent", "foreign_agent"))
@pytest.mark.parametrize(("method", "path"), PEOPLE_ROUTES, ids=[f"{m} {p}" for m, p in PEOPLE_ROUTES])
def test_no_agent_reaches_the_organization_and_people_routes(method, path, caller, form, cast, org, owner):
    from agents import rules
    from agents.models import Invitation, Membership

    invitation, token = rules.create_invitation(owner, org, {})
    names = {"org": org.pk, "membership": Membership.objects.get(user=owner).pk, "invitation": invitation.pk}
    client = agent_client(mint_token(cast[caller]), form)
    response = getattr(client, method)(path.format(**names), {"token": token, "name": "Agents Inc"}, format="json")
    assert response.status_code == 401, response.content
    assert set(response.json()) == {"detail", "request_id"}
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None
    assert Membership.objects.filter(organization=org).count() == 1


def test_the_matrix_lists_every_agent_route():
    routes = {path for path, module in routes_with_modules() if ".agent_api" in module}
    assert routes - listed_paths(route.path for route in ROUTES) == set()
