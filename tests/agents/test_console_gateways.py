"""Gateways in the console: registered by admins, listed per organization, tokens never shown."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agents.models import ActivityEvent, Gateway

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]


def test_an_admin_registers_a_gateway_and_its_token_is_not_shown(client, owner, org):
    client.force_login(owner)
    response = client.post(reverse("console:gateways"), {
        "organization": str(org.pk), "name": "Lab", "url": "wss://lab.example:18789", "token": "gw-secret-123"})
    assert response.status_code == 302
    gateway = Gateway.objects.get(name="Lab")
    assert gateway.organization == org and gateway.token == "gw-secret-123"
    assert ActivityEvent.objects.filter(event_type="gateway.created").exists()
    html = client.get(reverse("console:gateways")).content.decode()
    assert "wss://lab.example:18789" in html and "gw-secret-123" not in html


def test_a_gateway_address_must_be_a_websocket_url_as_the_api_requires(client, owner, org):
    client.force_login(owner)
    response = client.post(reverse("console:gateways"), {"organization": str(org.pk), "name": "Bad",
                                                          "url": "http://nope"})
    assert response.status_code == 422
    assert b"A gateway URL starts with ws:// or wss://" in response.content
    assert not Gateway.objects.filter(name="Bad").exists()


def test_a_member_sees_gateways_but_cannot_register_one(client, member, gateway, other_gateway):
    client.force_login(member)
    html = client.get(reverse("console:gateways")).content.decode()
    assert "Acme gateway" in html and "Globex gateway" not in html and "Register a gateway" not in html
    response = client.post(reverse("console:gateways"), {"name": "Sneaky", "url": "ws://x"})
    assert response.status_code == 403
    assert not Gateway.objects.filter(name="Sneaky").exists()


def test_the_gateways_page_needs_sign_in(client):
    assert client.get(reverse("console:gateways")).status_code == 302


def test_a_member_limited_to_some_boards_sees_only_their_boards_agents(client, admin_user, member, org, gateway,
                                                                       board, worker, main_agent):
    from agents import rules
    from agents.models import Membership
    from tests.conftest import make_agent, make_board

    hidden = make_agent("Payroll worker", board=make_board(org, "Payroll"), gateway=gateway)
    rules.set_board_access(admin_user, Membership.objects.get(user=member), {
        "all_boards_read": False, "all_boards_write": False, "boards": [{"board_id": str(board.pk)}]})
    client.force_login(member)

    for url in (reverse("console:agents"), reverse("console:gateway", args=[gateway.pk])):
        html = client.get(url).content.decode()
        assert worker.name in html and hidden.name not in html and "Payroll" not in html, url
    for agent in (hidden, main_agent):
        assert client.get(reverse("console:agent", args=[agent.pk])).status_code == 404
        assert client.get(reverse("console:agent_edit", args=[agent.pk])).status_code == 404
    client.force_login(admin_user)
    assert hidden.name in client.get(reverse("console:agents")).content.decode()


def test_the_gateway_list_counts_only_the_boards_and_agents_a_limited_member_sees(client, admin_user, member, org,
                                                                                  gateway, board, worker, lead,
                                                                                  main_agent):
    import re

    from agents import rules
    from agents.models import Membership
    from tests.conftest import make_agent, make_board

    hidden_board = make_board(org, "Payroll", gateway=gateway)
    make_agent("Payroll worker", board=hidden_board, gateway=gateway)
    rules.set_board_access(admin_user, Membership.objects.get(user=member), {
        "all_boards_read": False, "all_boards_write": False, "boards": [{"board_id": str(board.pk)}]})

    def counts(user) -> tuple[str, str]:
        client.force_login(user)
        html = client.get(reverse("console:gateways")).content.decode()
        found = re.search(r'data-label="Boards" class="num">(\d+)</td>\s*<td data-label="Agents" class="num">(\d+)',
                          html)
        assert found is not None
        return found[1], found[2]

    # The limited member: their board, its lead and worker (no main agent, no Payroll).
    assert counts(member) == ("1", "2")
    # An admin: both boards; the lead, the worker, the Payroll worker and the main agent.
    assert counts(admin_user) == ("2", "4")
