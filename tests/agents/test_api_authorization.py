"""Who may call each route of the user API: anonymous, outsider, member, admin, owner.

One row per route and method. Anonymous callers get 401 everywhere; people of another
organization get 404 for anything of ours (and only their own objects in lists); members
work on the boards (tasks, comments, memory, approvals, group memory) and get 403
``admin_required`` only for boards, gateways, agents, tags, custom fields, board groups,
members and invitations; admins may do all of it but hand over ownership (403
``owner_required``), which owners do. A member limited to some boards still sees a group
of boards hidden from them, but not its memory (403 ``board_group_memory_restricted``),
and writes it only when they work on every board of the group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.agents.api_helpers import (
    assert_refused,
    authorization_world,
    listed_paths,
    routes_with_modules,
)

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    admin: int
    member: int
    outsider: int = 404
    body: dict[str, Any] | None = None
    owner: int | None = None  # when it differs from the admin's answer
    member_code: str = "admin_required"

    @property
    def owner_status(self) -> int:
        return self.admin if self.owner is None else self.owner

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


B = "/api/v1/boards/{board}"
ORG = "/api/v1/organizations/{org}"
ROUTES = [
    Route("get", "/api/v1/users/me", 200, 200, 200),
    Route("get", "/api/v1/gateways", 200, 200, 200),
    Route("post", "/api/v1/gateways", 201, 403, 201, {"name": "Edge", "url": "wss://edge.test"}),
    Route("get", "/api/v1/gateways/{gateway}", 200, 200),
    Route("patch", "/api/v1/gateways/{gateway}", 200, 403, body={"name": "Renamed"}),
    Route("delete", "/api/v1/gateways/{gateway}", 204, 403),
    Route("post", "/api/v1/gateways/{gateway}/check", 202, 403),
    Route("post", "/api/v1/gateways/{gateway}/sync", 202, 403),
    Route("get", "/api/v1/boards", 200, 200, 200),
    Route("post", "/api/v1/boards", 201, 403, 201, {"name": "Another board"}),
    Route("get", B, 200, 200),
    Route("patch", B, 200, 403, body={"objective": "Ship it"}),
    Route("delete", B, 204, 403),
    Route("get", B + "/snapshot", 200, 200),
    Route("get", B + "/tasks", 200, 200),
    Route("post", B + "/tasks", 201, 201, body={"title": "New task"}),
    Route("get", B + "/tasks/{task}", 200, 200),
    Route("patch", B + "/tasks/{task}", 200, 200, body={"title": "Renamed task"}),
    Route("delete", B + "/tasks/{task}", 204, 204),
    # The task was made before "Publish", so it is second in the inbox and can go up.
    Route("post", B + "/tasks/{task}/reorder", 200, 200, body={"direction": "up"}),
    Route("get", B + "/tasks/{task}/comments", 200, 200),
    Route("post", B + "/tasks/{task}/comments", 201, 201, body={"message": "Looks good"}),
    Route("get", B + "/approvals", 200, 200),
    Route("post", B + "/approvals", 201, 201,
          body={"action_type": "deploy", "task_id": "{task}", "confidence": 70, "lead_reasoning": "Tested"}),
    Route("get", B + "/approvals/{approval}", 200, 200),
    Route("patch", B + "/approvals/{approval}", 200, 200, body={"status": "approved"}),
    Route("get", B + "/memory", 200, 200),
    Route("post", B + "/memory", 201, 201, body={"content": "Standup at nine"}),
    Route("get", B + "/webhooks", 200, 200),
    Route("post", B + "/webhooks", 201, 403, body={"description": "Deploys"}),
    Route("get", B + "/webhooks/{webhook}", 200, 200),
    Route("patch", B + "/webhooks/{webhook}", 200, 403, body={"description": "Deploys and rollbacks"}),
    Route("delete", B + "/webhooks/{webhook}", 204, 403),
    Route("get", B + "/webhooks/{webhook}/payloads", 200, 200),
    Route("get", B + "/webhooks/{webhook}/payloads/{payload}", 200, 200),
    Route("post", B + "/webhooks/{webhook}/payloads/{payload}/redeliver", 202, 403),
    Route("get", B + "/group-memory", 200, 200),
    Route("post", B + "/group-memory", 201, 201, body={"content": "Shared standup at nine"}),
    Route("get", B + "/group-snapshot", 200, 200),
    Route("get", "/api/v1/board-groups", 200, 200, 200),
    Route("post", "/api/v1/board-groups", 201, 403, 201, {"name": "Platform"}),
    Route("get", "/api/v1/board-groups/{group}", 200, 200),
    Route("patch", "/api/v1/board-groups/{group}", 200, 403, body={"description": "Everything web"}),
    Route("delete", "/api/v1/board-groups/{group}", 204, 403),
    Route("get", "/api/v1/board-groups/{group}/memory", 200, 200),
    Route("post", "/api/v1/board-groups/{group}/memory", 201, 201, body={"content": "Release train Friday"}),
    Route("get", "/api/v1/board-groups/{group}/snapshot", 200, 200),
    Route("post", "/api/v1/board-groups/{group}/heartbeat", 200, 403, body={"every": "15m"}),
    Route("get", "/api/v1/agents", 200, 200, 200),
    Route("post", "/api/v1/agents", 201, 403, 404, {"name": "Helper", "board_id": "{board}"}),
    Route("get", "/api/v1/agents/{agent}", 200, 200),
    Route("patch", "/api/v1/agents/{agent}", 200, 403, body={"name": "Renamed worker"}),
    Route("delete", "/api/v1/agents/{agent}", 204, 403),
    Route("post", "/api/v1/agents/{agent}/token", 200, 403),
    Route("post", "/api/v1/agents/{agent}/provision", 202, 403),
    Route("get", "/api/v1/activity", 200, 200, 200),
    Route("get", "/api/v1/tags", 200, 200, 200),
    Route("post", "/api/v1/tags", 201, 403, 201, {"name": "Urgent fix"}),
    Route("get", "/api/v1/tags/{tag}", 200, 200),
    Route("patch", "/api/v1/tags/{tag}", 200, 403, body={"color": "ff0000"}),
    Route("delete", "/api/v1/tags/{tag}", 204, 403),
    Route("get", "/api/v1/custom-fields", 200, 200, 200),
    Route("get", "/api/v1/custom-fields?board_id={board}", 200, 200, 200),
    Route("post", "/api/v1/custom-fields", 201, 403, 201, {"field_key": "story_points", "field_type": "number"}),
    Route("get", "/api/v1/custom-fields/{custom_field}", 200, 200),
    Route("patch", "/api/v1/custom-fields/{custom_field}", 200, 403, body={"label": "Size"}),
    Route("delete", "/api/v1/custom-fields/{custom_field}", 204, 403),
    Route("get", "/api/v1/metrics/dashboard", 200, 200, 200),
    Route("get", "/api/v1/users/me/profile", 200, 200, 200),
    Route("patch", "/api/v1/users/me/profile", 200, 200, 200, {"timezone": "Europe/Paris"}),
    Route("get", "/api/v1/organizations", 200, 200, 200),
    Route("post", "/api/v1/organizations", 201, 201, 201, {"name": "Side project"}),
    Route("get", ORG, 200, 200),
    Route("patch", ORG, 200, 403, body={"name": "Acme Corp"}),
    Route("post", ORG + "/leave", 204, 204, owner=409),
    Route("post", ORG + "/transfer-ownership", 403, 403, body={"membership_id": "{membership}"}, owner=200,
          member_code="owner_required"),
    Route("get", ORG + "/members", 200, 200),
    Route("get", ORG + "/members/{membership}", 200, 200),
    Route("patch", ORG + "/members/{membership}", 200, 403, body={"role": "admin"}),
    Route("delete", ORG + "/members/{membership}", 204, 403),
    Route("put", ORG + "/members/{membership}/board-access", 200, 403, body={"all_boards_write": False}),
    Route("get", ORG + "/invitations", 200, 403),
    Route("post", ORG + "/invitations", 201, 403, body={"role": "member"}),
    Route("delete", ORG + "/invitations/{invitation}", 204, 403),
    # Members of the organization are members already; anyone else joins with the link.
    Route("post", "/api/v1/invitations/accept", 409, 409, 201, {"token": "{invitation_token}"}),
]


@pytest.fixture
def world(org, owner, board, gateway, lead, worker):
    made = authorization_world(org, owner, board, worker)
    names = {name: getattr(value, "pk", value) for name, value in made.items()}
    return {**names, "board": board.pk, "gateway": gateway.pk, "agent": worker.pk, "org": org.pk}


def _fill(value: Any, names: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {key: _fill(item, names) for key, item in value.items()}
    return value


def call(client, route: Route, names: dict[str, Any]):
    return getattr(client, route.method)(_fill(route.path, names), _fill(route.body, names), format="json")


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_anonymous_callers_are_refused_with_401(api_client, world, route):
    assert_refused(call(api_client, route, world), 401)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_people_of_another_organization_cannot_reach_our_objects(client_for, outsider, world, route):
    response = call(client_for(outsider), route, world)
    if route.outsider == 404:
        assert_refused(response, 404)
    else:
        assert response.status_code == route.outsider, response.content


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_members_work_on_boards_but_cannot_change_boards_gateways_agents_or_tags(client_for, member, world, route):
    response = call(client_for(member), route, world)
    if route.member == 403:
        assert_refused(response, 403, route.member_code)
    else:
        assert response.status_code == route.member, response.content


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_owners_may_call_every_route_and_alone_hand_over_ownership(client_for, owner, world, route):
    response = call(client_for(owner), route, world)
    assert response.status_code == route.owner_status, response.content
    if route.owner_status == 409:
        assert_refused(response, 409, "last_owner" if route.path.endswith("/leave") else "already_member")


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_admins_may_call_every_route(client_for, admin_user, world, route):
    response = call(client_for(admin_user), route, world)
    assert response.status_code == route.admin, response.content
    if route.admin == 204:
        assert response.content == b""


def test_lists_show_an_outsider_only_their_own_organization(client_for, outsider, world, other_board):
    client = client_for(outsider)
    assert [b["id"] for b in client.get("/api/v1/boards").json()["items"]] == [str(other_board.pk)]
    for path in ("/api/v1/gateways", "/api/v1/agents", "/api/v1/tags", "/api/v1/activity", "/api/v1/custom-fields",
                 "/api/v1/board-groups", "/api/v1/organizations"):
        items = client.get(path).json()["items"]
        assert all(item["id"] not in {str(v) for v in world.values()} for item in items), path


def test_an_agent_token_does_not_open_the_people_routes(api_client, worker):
    from agents.tokens import mint_token

    token = mint_token(worker)
    assert_refused(api_client.get("/api/v1/boards", HTTP_X_AGENT_TOKEN=token), 401)
    assert_refused(api_client.get("/api/v1/boards", HTTP_AUTHORIZATION=f"Bearer {token}"), 401)


def test_an_authenticated_agent_is_refused_by_the_people_routes(worker, board):
    from rest_framework.test import APIRequestFactory, force_authenticate

    from agents.api.boards import BoardListView

    request = APIRequestFactory().get("/api/v1/boards")
    force_authenticate(request, user=worker)
    response = BoardListView.as_view()(request)
    assert response.status_code == 403
    assert "agent" in str(response.data["detail"]).lower()


def test_the_matrix_lists_every_route_of_the_peoples_api():
    # Agents' routes (agents.agent_api, webhooks.agent_api, the legacy heartbeats among
    # them) have their own matrix: tests/agents/test_agent_access_matrix.py. The webhook's
    # own path also takes the open ingest POST, tested in tests/webhooks.
    routes = {path for path, module in routes_with_modules()
              if path.startswith("/api/v1/") and ".agent_api" not in module}
    assert routes - listed_paths(route.path for route in ROUTES) == set()


# A member limited to some boards, on a group of two boards: the group and its snapshot
# (narrowed to their boards) stay theirs; its memory, shared by both boards, takes both.
GROUP_MEMORY_ROUTES = [
    Route("get", "/api/v1/board-groups/{group}/memory", 200, 200),
    Route("post", "/api/v1/board-groups/{group}/memory", 201, 201, body={"content": "Release train Friday"}),
    Route("get", B + "/group-memory", 200, 200),
    Route("post", B + "/group-memory", 201, 201, body={"content": "Shared standup at nine"}),
]
GROUP_ROUTES = [Route("get", "/api/v1/board-groups/{group}", 200, 200),
                Route("get", "/api/v1/board-groups/{group}/snapshot", 200, 200),
                Route("get", B + "/group-snapshot", 200, 200)]


def limited(admin_user, member, org, grants: dict[Any, bool]) -> None:
    from agents import rules
    from agents.models import Membership

    rules.set_board_access(admin_user, Membership.objects.get(user=member, organization=org), {
        "all_boards_read": False, "all_boards_write": False,
        "boards": [{"board_id": str(b.pk), "can_write": w} for b, w in grants.items()]})


@pytest.fixture
def hidden_board(org, world):
    from agents.models import BoardGroup
    from tests.conftest import make_board

    return make_board(org, "Payroll", group=BoardGroup.objects.get(pk=world["group"]))


@pytest.mark.parametrize("route", GROUP_MEMORY_ROUTES, ids=str)
def test_a_member_limited_to_some_boards_of_a_group_cannot_reach_its_memory(client_for, admin_user, member, org,
                                                                           board, hidden_board, world, route):
    limited(admin_user, member, org, {board: True})
    body = assert_refused(call(client_for(member), route, world), 403, "board_group_memory_restricted")
    assert "every one" in body["detail"]["message"]


@pytest.mark.parametrize("route", GROUP_ROUTES, ids=str)
def test_a_member_limited_to_some_boards_of_a_group_still_sees_the_group(client_for, admin_user, member, org, board,
                                                                         hidden_board, world, route):
    limited(admin_user, member, org, {board: True})
    assert call(client_for(member), route, world).status_code == 200


@pytest.mark.parametrize("route", GROUP_MEMORY_ROUTES, ids=str)
def test_a_member_reading_every_board_of_a_group_reads_its_memory_but_writes_only_working_on_all(
        client_for, admin_user, member, org, board, hidden_board, world, route):
    limited(admin_user, member, org, {board: True, hidden_board: False})
    response = call(client_for(member), route, world)
    if route.method == "get":
        assert response.status_code == 200, response.content
    else:
        assert_refused(response, 403, "board_group_memory_read_only")

    limited(admin_user, member, org, {board: True, hidden_board: True})
    assert call(client_for(member), route, world).status_code == route.member
