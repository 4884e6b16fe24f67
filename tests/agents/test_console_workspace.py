"""The organization the console works in: a person in several organizations chooses one
with the switcher, and the dashboard, boards, agents, approvals and activity pages show
that one's objects; a person in one organization sees it whole."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agents import activity
from agents.models import Approval, Membership, User
from tests.agents.test_console_pages import QUERY_BOUNDS
from tests.conftest import make_agent, make_board, make_gateway, make_org, make_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]

SCOPED_PAGES = {"dashboard": "console:dashboard", "boards": "console:boards", "agents": "console:agents",
                "approvals": "console:approvals", "activity": "console:activity"}


def _furnish(org, name: str):
    """A board of ``org`` named after it, with an agent, a pending approval and an event."""
    board = make_board(org, f"{name} board", gateway=make_gateway(org, f"{name} gateway"))
    agent = make_agent(f"{name} agent", board=board)
    task = make_task(board, f"{name} task")
    Approval.objects.create(board=board, agent=agent, action_type="mark_done", lead_reasoning=f"{name} reasoning",
                            confidence=60)
    activity.record("task.updated", actor=agent, task=task, board=board, message=f"{name} work happened")
    return board


@pytest.fixture
def two_organizations(member, org):
    """``member`` belongs to Acme (``org``) and to Initech, each with objects of its own."""
    second = make_org("Initech")
    Membership.objects.create(user=member, organization=second, role="member")
    _furnish(org, "Acme")
    _furnish(second, "Initech")
    return org, second


def _switch(client, org, next_url: str | None = None):
    body = {"organization": str(org.pk)}
    if next_url is not None:
        body["next"] = next_url
    return client.post(reverse("console:organization_switch"), body)


def _html(client, name: str) -> str:
    response = client.get(reverse(SCOPED_PAGES[name]))
    assert response.status_code == 200, name
    return response.content.decode()


def test_after_switching_every_list_shows_the_chosen_organizations_objects_only(client, member, two_organizations):
    _, initech = two_organizations
    client.force_login(member)

    assert _switch(client, initech, "/boards/")["Location"] == "/boards/"

    for name in SCOPED_PAGES:
        html = _html(client, name)
        assert "Acme" not in html.replace('>Acme</option>', ''), name  # the switcher still offers Acme
        assert "Initech" in html, name
    assert "Initech board" in _html(client, "boards")
    assert "Initech agent" in _html(client, "agents")
    assert "Initech reasoning" in _html(client, "approvals")
    assert "Initech task" in _html(client, "activity") and "Initech task" in _html(client, "dashboard")


def test_switching_back_shows_the_other_organization(client, member, two_organizations):
    acme, initech = two_organizations
    client.force_login(member)
    _switch(client, initech)
    _switch(client, acme)

    boards = _html(client, "boards")
    assert "Acme board" in boards and "Initech board" not in boards
    assert "Acme reasoning" in _html(client, "approvals") and "Initech reasoning" not in _html(client, "approvals")


def test_the_switcher_shows_the_current_organization_and_says_the_lists_follow_it(client, member, two_organizations):
    _, initech = two_organizations
    client.force_login(member)
    _switch(client, initech)

    html = _html(client, "dashboard")
    assert f'<option value="{initech.pk}" selected>Initech</option>' in html
    assert "(lists show this one)" in html
    assert '<input type="hidden" name="next" value="/">' in html


def test_the_navigation_counts_the_pending_approvals_of_the_chosen_organization(client, member, two_organizations):
    acme, _ = two_organizations
    Approval.objects.create(board=acme.boards.get(), agent=acme.agents.get(), action_type="mark_done",
                            lead_reasoning="Another", confidence=60)
    client.force_login(member)
    _switch(client, acme)
    assert 'title="2 pending"' in _html(client, "boards")


def test_without_a_choice_the_lists_show_every_organization(client, member, two_organizations):
    User.objects.filter(pk=member.pk).update(active_organization=None)
    client.force_login(member)
    boards = _html(client, "boards")
    assert "Acme board" in boards and "Initech board" in boards
    assert '<option value="" selected>All organizations</option>' in boards
    assert "(lists show this one)" not in boards and 'title="2 pending"' in boards


def test_choosing_all_organizations_shows_every_one_again(client, member, two_organizations):
    _, initech = two_organizations
    client.force_login(member)
    _switch(client, initech)
    response = client.post(reverse("console:organization_switch"), {"organization": "", "next": "/approvals/"})
    assert response.status_code == 302 and response["Location"] == "/approvals/"
    assert User.objects.get(pk=member.pk).active_organization_id is None
    approvals = _html(client, "approvals")
    assert "Acme reasoning" in approvals and "Initech reasoning" in approvals


def test_a_choice_one_is_no_longer_a_member_of_shows_every_organization(client, member, two_organizations):
    acme, initech = two_organizations
    client.force_login(member)
    _switch(client, initech)
    Membership.objects.filter(user=member, organization=initech).delete()  # as the admin site would
    third = make_org("Umbrella")
    Membership.objects.create(user=member, organization=third, role="member")
    _furnish(third, "Umbrella")
    boards = _html(client, "boards")
    assert "Acme board" in boards and "Umbrella board" in boards and "Initech board" not in boards


def test_a_person_in_one_organization_sees_all_of_it_and_no_scoping_note(client, member, org, board):
    _furnish(org, "Acme")
    client.force_login(member)
    boards = _html(client, "boards")
    assert "Acme board" in boards and board.name in boards
    assert "(lists show this one)" not in boards and "All organizations" not in boards
    assert 'title="1 pending"' in boards


def test_one_organizations_objects_stay_reachable_by_link_while_another_is_chosen(client, member,
                                                                                 two_organizations):
    acme, initech = two_organizations
    client.force_login(member)
    _switch(client, initech)
    assert client.get(reverse("console:board", args=[acme.boards.get().pk])).status_code == 200


@pytest.mark.parametrize("next_url", ["https://elsewhere.example/boards/", "//elsewhere.example/", "javascript:x"])
def test_the_switcher_never_returns_to_another_site(client, member, two_organizations, next_url):
    _, initech = two_organizations
    client.force_login(member)
    response = _switch(client, initech, next_url)
    assert response.status_code == 302
    assert response["Location"] == reverse("console:organization", args=[initech.pk])


def test_switching_on_an_organizations_page_opens_the_chosen_organizations_page(client, member, two_organizations):
    acme, initech = two_organizations
    client.force_login(member)
    response = _switch(client, initech, reverse("console:organization", args=[acme.pk]))
    assert response["Location"] == reverse("console:organization", args=[initech.pk])


def test_the_switcher_keeps_the_query_string_of_the_page_it_returns_to(client, member, two_organizations):
    _, initech = two_organizations
    client.force_login(member)
    assert _switch(client, initech, "/approvals/?status=all")["Location"] == "/approvals/?status=all"


def test_the_switcher_needs_the_csrf_token(member, two_organizations):
    _, initech = two_organizations
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    assert _switch(client, initech).status_code == 403
    assert User.objects.get(pk=member.pk).active_organization_id != initech.pk


def test_the_switcher_is_a_post(client, member, two_organizations):
    _, initech = two_organizations
    client.force_login(member)
    assert client.get(reverse("console:organization_switch"), {"organization": initech.pk}).status_code == 405


def test_scoped_pages_cost_no_more_queries_for_a_person_in_several_organizations(client, member, two_organizations):
    acme, initech = two_organizations
    client.force_login(member)
    _switch(client, initech)
    client.get(reverse("console:dashboard"))

    def counts() -> dict[str, int]:
        found = {}
        for name, route in SCOPED_PAGES.items():
            with CaptureQueriesContext(connection) as queries:
                assert client.get(reverse(route)).status_code == 200
            found[name] = len(queries.captured_queries)
        return found

    small = counts()
    for org, name in ((acme, "More Acme"), (initech, "More Initech"), (initech, "Yet more Initech")):
        _furnish(org, name)
    large = counts()
    assert large == small
    for name, count in large.items():
        assert count <= QUERY_BOUNDS[name], (name, count)
