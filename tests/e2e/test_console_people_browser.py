"""Organizations and people in a real browser: the first operator invites someone by link,
the newcomer signs up through it in another browser and sets their profile, the operator
makes them an admin, then creates a second organization and switches to it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from agents.models import Membership, User
from tests.conftest import make_board
from tests.e2e.test_console_flow import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("console_static", "transactional_db")]

PASSWORD = "analytical-engine-1843"


def test_an_operator_invites_a_newcomer_who_signs_up_and_joins(console_page, browser, live_server, screenshots):
    page = console_page
    sign_in(page)
    from agents.identity import default_organization

    org = default_organization()
    make_board(org, "Launch")

    # The operator's organization page, reached from the navigation.
    page.get_by_role("link", name="Organization", exact=True).click()
    expect(page.get_by_role("heading", name=org.name, exact=True)).to_be_visible()
    page.shot("organization")

    # An invitation link, shown once.
    page.get_by_label("For (email) (optional)").fill("ada@example.com")
    page.get_by_role("button", name="Create invitation link").click()
    link = page.locator("#invitation-link")
    expect(link).to_contain_text("/invite/inv_")
    url = link.inner_text().strip()
    page.shot("invitation-link")

    # The newcomer opens it in a browser of their own and signs up.
    other = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    try:
        newcomer = other.new_page()
        newcomer.goto(url)
        expect(newcomer.get_by_role("heading", name=f"Join {org.name}")).to_be_visible()
        newcomer.get_by_label("Username").fill("ada")
        newcomer.get_by_label("First name (optional)").fill("Ada")
        newcomer.get_by_label("Password", exact=True).fill(PASSWORD)
        newcomer.get_by_label("Password again").fill(PASSWORD)
        newcomer.screenshot(path=str(screenshots / "people-newcomer-accept-form.png"), full_page=True)
        newcomer.get_by_role("button", name="Sign up and join").click()
        expect(newcomer.locator(".message.success", has_text="Welcome")).to_be_visible()
        expect(newcomer.get_by_role("cell", name="Ada ada")).to_be_visible()

        # Their own profile.
        newcomer.get_by_role("link", name="Ada", exact=True).click()
        newcomer.get_by_label("Time zone (optional)").fill("Europe/London")
        newcomer.get_by_role("button", name="Save profile").click()
        expect(newcomer.locator(".message.success", has_text="Profile saved.")).to_be_visible()
        assert User.objects.get(username="ada").timezone == "Europe/London"

        # The link works once.
        newcomer.goto(url)
        expect(newcomer.get_by_text("This invitation has been used already.")).to_be_visible()
    finally:
        other.close()

    # The operator sees the newcomer and makes them an admin.
    page.goto(f"/organizations/{org.pk}/")
    page.get_by_label("Role of ada").select_option("admin")
    page.get_by_role("button", name="Save role of ada").click()
    expect(page.locator(".message.success", has_text="ada is now admin.")).to_be_visible()
    assert Membership.objects.get(user__username="ada").role == "admin"
    page.shot("members")

    # A second organization, then back to the first through the switcher.
    page.goto("/organizations/")
    page.get_by_label("Name").fill("Skunkworks")
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_role("heading", name="Skunkworks", exact=True)).to_be_visible()
    # Its label also says when the lists show only the chosen organization.
    switcher = page.get_by_role("combobox", name=re.compile(r"^Organization\b"))
    expect(switcher).to_have_value(str(Membership.objects.get(organization__name="Skunkworks").organization_id))
    switcher.select_option(label=org.name)
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_role("heading", name=org.name, exact=True)).to_be_visible()
    page.shot("switched")
