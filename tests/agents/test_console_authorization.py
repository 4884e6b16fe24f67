"""Who may open each console page and use each console action: anonymous, outsider, member,
admin, owner. The console's counterpart of ``test_api_authorization``.

One row per route and method. Anonymous visitors are sent to the sign-in page from every
route; people of another organization get 404 for anything of ours (lists show them only
their own organization, and a form naming our organization is refused with 422); members work on the boards (tasks, comments, memory, approvals)
and are refused with 403 where the API says ``admin_required``; admins may do all of it
but hand over ownership, which owners do. A success is the page (200) or the redirect
that follows a completed form (302); the refusal pages are the console's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from tests.agents.api_helpers import authorization_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]

OK, DONE, REFUSED, NOT_FOUND, INVALID = 200, 302, 403, 404, 422


@dataclass(frozen=True)
class Page:
    name: str  # "console:..." or "webhooks_console:..."
    method: str
    member: int
    admin: int
    outsider: int = NOT_FOUND
    body: dict[str, Any] | None = None
    owner: int | None = None  # when it differs from the admin's answer

    @property
    def owner_status(self) -> int:
        return self.admin if self.owner is None else self.owner

    def __str__(self) -> str:
        return f"{self.method} {self.name}"


ORG_FORM = {"organization": "{org}"}
ROUTES = [
    Page("console:dashboard", "get", OK, OK, OK),
    Page("console:dashboard_live", "get", OK, OK, OK),
    Page("console:boards", "get", OK, OK, OK),
    Page("console:board_create", "get", REFUSED, OK, OK),
    Page("console:board_create", "post", REFUSED, DONE, INVALID,
         body={**ORG_FORM, "name": "Another board", "board_type": "goal", "max_agents": 5}),
    Page("console:board", "get", OK, OK),
    Page("console:board_edit", "get", REFUSED, OK),
    Page("console:board_edit", "post", REFUSED, DONE,
         body={**ORG_FORM, "name": "Launch", "slug": "launch", "board_type": "goal", "max_agents": 5}),
    Page("console:board_delete", "post", REFUSED, DONE, body={"confirm_name": "Launch"}),
    # Pausing writes /pause in board chat, which members may write.
    Page("console:board_pause", "post", DONE, DONE),
    Page("console:board_live", "get", OK, OK),
    Page("console:board_memory", "get", OK, OK),
    Page("console:board_memory_live", "get", OK, OK),
    Page("console:task_live", "get", OK, OK),
    Page("console:board_memory", "post", DONE, DONE, body={"content": "Standup at nine", "is_chat": "on"}),
    Page("console:task_create", "post", DONE, DONE, body={"title": "New task", "priority": "medium"}),
    Page("console:task", "get", OK, OK),
    Page("console:task_move", "post", DONE, DONE, body={"status": "in_progress"}),
    # Members order columns as the lead does; the task is second in the inbox, after "Publish".
    Page("console:task_reorder", "post", DONE, DONE, body={"direction": "up"}),
    Page("console:task_edit", "post", DONE, DONE, body={"title": "Renamed", "status": "inbox", "priority": "high"}),
    Page("console:task_delete", "post", DONE, DONE),
    Page("console:task_relations", "post", DONE, DONE, body={"tags": "{tag}"}),
    Page("console:task_comment", "post", DONE, DONE, body={"message": "Looks good"}),
    Page("console:task_approval", "post", DONE, DONE,
         body={"action_type": "deploy", "reasoning": "Tested", "confidence": 70}),
    Page("console:task_custom_fields", "post", DONE, DONE, body={"points": "5"}),
    Page("console:groups", "get", OK, OK, OK),
    Page("console:groups", "post", REFUSED, DONE, INVALID, body={**ORG_FORM, "name": "Platform"}),
    Page("console:group", "get", OK, OK),
    Page("console:group", "post", DONE, DONE, body={"content": "Release train Friday", "is_chat": "on"}),
    Page("console:group_edit", "get", REFUSED, OK),
    Page("console:group_edit", "post", REFUSED, DONE, body={**ORG_FORM, "name": "Web", "slug": "web"}),
    Page("console:group_delete", "post", REFUSED, DONE),
    Page("console:approvals", "get", OK, OK, OK),
    Page("console:approvals_live", "get", OK, OK, OK),
    Page("console:approval_resolve", "post", DONE, DONE, body={"status": "approved"}),
    Page("console:agents", "get", OK, OK, OK),
    Page("console:agents_live", "get", OK, OK, OK),
    # A new agent's token and a new webhook's address are shown once, on the answer itself.
    Page("console:agents", "post", REFUSED, OK, INVALID, body={"name": "Helper", "board": "{board}"}),
    Page("console:agent", "get", OK, OK),
    Page("console:agent_live", "get", OK, OK),
    Page("console:agent_edit", "get", REFUSED, OK),
    Page("console:agent_edit", "post", REFUSED, DONE, body={"name": "Renamed worker", "gateway": "{gateway}"}),
    Page("console:agent_delete", "post", REFUSED, DONE, body={"confirm_name": "Worker"}),
    Page("console:agent_rotate", "post", REFUSED, OK),
    Page("console:agent_provision", "post", REFUSED, DONE),
    # Reading an agent's sessions again is a read: members see agents.
    Page("console:agent_refresh", "post", DONE, DONE),
    Page("console:agent_message_resend", "post", REFUSED, DONE),
    Page("console:gateways", "get", OK, OK, OK),
    Page("console:gateways", "post", REFUSED, DONE, INVALID, body={**ORG_FORM, "name": "Edge", "url": "wss://edge.test"}),
    Page("console:gateway", "get", OK, OK),
    Page("console:gateway_live", "get", OK, OK),
    Page("console:gateway_edit", "get", REFUSED, OK),
    Page("console:gateway_edit", "post", REFUSED, DONE,
         body={**ORG_FORM, "name": "Renamed", "url": "ws://gateway.test:18789"}),
    Page("console:gateway_delete", "post", REFUSED, DONE, body={"confirm_name": "Acme gateway"}),
    Page("console:gateway_check", "post", REFUSED, DONE),
    Page("console:gateway_sync", "post", REFUSED, DONE),
    Page("console:tags", "get", OK, OK, OK),
    Page("console:tags", "post", REFUSED, DONE, INVALID, body={**ORG_FORM, "name": "Urgent", "color": "#ff0000"}),
    Page("console:tag_edit", "get", REFUSED, OK),
    Page("console:tag_edit", "post", REFUSED, DONE, body={**ORG_FORM, "name": "Docs", "color": "#00aa00"}),
    Page("console:tag_delete", "post", REFUSED, DONE),
    Page("console:custom_fields", "get", OK, OK, OK),
    Page("console:custom_fields", "post", REFUSED, DONE, INVALID,
         body={**ORG_FORM, "label": "Size", "field_key": "size", "field_type": "number"}),
    Page("console:custom_field_edit", "get", REFUSED, OK),
    Page("console:custom_field_edit", "post", REFUSED, DONE,
         body={**ORG_FORM, "label": "Story points", "field_key": "points", "field_type": "text"}),
    Page("console:custom_field_delete", "post", REFUSED, DONE),
    Page("console:activity", "get", OK, OK, OK),
    Page("console:activity_live", "get", OK, OK, OK),
    Page("console:organization_home", "get", DONE, DONE, DONE),
    Page("console:organizations", "get", OK, OK, OK),
    Page("console:organizations", "post", DONE, DONE, DONE, body={"name": "Side project"}),
    Page("console:organization_switch", "post", DONE, DONE, body={"organization": "{org}"}),
    Page("console:organization", "get", OK, OK),
    Page("console:organization_rename", "post", REFUSED, DONE, body={"name": "Acme Corp"}),
    Page("console:organization_leave", "post", DONE, DONE),
    Page("console:organization_transfer", "post", REFUSED, REFUSED, body={"membership": "{membership}"},
         owner=DONE),
    Page("console:invitation_create", "post", REFUSED, OK,
         body={"role": "member", "reach": "write", "expires_in_days": 7}),
    Page("console:invitation_revoke", "post", REFUSED, DONE),
    Page("console:member_role", "post", REFUSED, DONE, body={"role": "admin"}),
    Page("console:member_remove", "post", REFUSED, DONE),
    Page("console:member_access", "get", REFUSED, OK),
    Page("console:member_access", "post", REFUSED, DONE, body={"reach": "read"}),
    Page("console:profile", "get", OK, OK, OK),
    Page("console:profile", "post", DONE, DONE, DONE, body={"first_name": "Ada", "timezone": "Europe/Paris"}),
    Page("webhooks_console:webhooks", "get", OK, OK),
    Page("webhooks_console:webhooks", "post", REFUSED, OK, body={"description": "Deploys"}),
    Page("webhooks_console:webhook", "get", OK, OK),
    Page("webhooks_console:edit", "get", REFUSED, OK),
    Page("webhooks_console:edit", "post", REFUSED, DONE, body={"description": "Deploys and rollbacks"}),
    Page("webhooks_console:delete", "post", REFUSED, DONE),
    Page("webhooks_console:toggle", "post", REFUSED, DONE),
    Page("webhooks_console:secret", "post", REFUSED, OK),
    Page("webhooks_console:replay", "post", REFUSED, DONE),
]
# Open to everyone by design: signing in and out, and an invitation's link.
PUBLIC = {"console:login", "console:logout", "console:invitation"}


@pytest.fixture
def world(org, owner, board, gateway, lead, worker):
    from agents.models import AgentMessage

    made = authorization_world(org, owner, board, worker)
    message = AgentMessage.objects.create(agent=worker, board_id=board.pk, kind="task.assigned", text="Hello",
                                          status=AgentMessage.Status.DEAD)
    return {"board_id": board.pk, "task_id": made["task"].pk, "group_id": made["group"].pk,
            "approval_id": made["approval"].pk, "agent_id": worker.pk, "gateway_id": gateway.pk,
            "tag_id": made["tag"].pk, "field_id": made["custom_field"].pk, "organization_id": org.pk,
            "invitation_id": made["invitation"].pk, "membership_id": made["membership"].pk,
            "webhook_id": made["webhook"].pk, "payload_id": made["payload"].pk, "message_id": message.pk,
            # Form values
            "org": org.pk, "board": board.pk, "gateway": gateway.pk, "tag": made["tag"].pk,
            "membership": made["membership"].pk}


def _url(route: Page, names: dict[str, Any]) -> str:
    from django.urls import get_resolver

    namespace, name = route.name.split(":")
    pattern = next(p for p in get_resolver().namespace_dict[namespace][1].url_patterns if p.name == name)
    return reverse(route.name, kwargs={key: names[key] for key in pattern.pattern.converters})


def call(client, route: Page, names: dict[str, Any]):
    body = {key: str(value).format(**{k: str(v) for k, v in names.items()}) for key, value in (route.body or {}).items()}
    return getattr(client, route.method)(_url(route, names), body)


def _signed_in(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_anonymous_visitors_are_sent_to_sign_in(client, world, route):
    response = call(client, route, world)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login") + "?next=")


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_people_of_another_organization_cannot_reach_our_objects(client, outsider, world, route):
    response = call(_signed_in(client, outsider), route, world)
    assert response.status_code == route.outsider, response.content[:400]
    if route.outsider == NOT_FOUND:
        assert b"Launch" not in response.content
    if route.outsider == INVALID:
        # Our organization (or board) is not among the form's choices: refused, nothing made.
        assert b"valid choice" in response.content


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_members_work_on_boards_and_are_refused_the_rest(client, member, world, route):
    response = call(_signed_in(client, member), route, world)
    assert response.status_code == route.member, response.content[:400]
    if route.member == REFUSED:
        assert "text/html" in response["Content-Type"]
        assert re.search(rb"admins?|owners?", response.content, re.I)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_admins_may_use_every_page(client, admin_user, world, route):
    response = call(_signed_in(client, admin_user), route, world)
    assert response.status_code == route.admin, response.content[:400]


@pytest.mark.parametrize("route", [route for route in ROUTES if route.owner is not None], ids=str)
def test_owners_alone_hand_over_ownership(client, owner, world, route):
    response = call(_signed_in(client, owner), route, world)
    assert response.status_code == route.owner_status, response.content[:400]


def test_the_matrix_lists_every_console_route():
    from django.urls import get_resolver

    listed = {route.name for route in ROUTES} | PUBLIC
    resolver = get_resolver()
    every = {f"{namespace}:{pattern.name}" for namespace in ("console", "webhooks_console")
             for pattern in resolver.namespace_dict[namespace][1].url_patterns}
    assert every - listed == set()
