"""Organizations and people in the console: the switcher, the members page and its controls,
invitation links shown once, the accept page (sign up, or sign in and join), leaving and
handing over ownership, and the profile. Changes go through the same rules as the API."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from agents import rules
from agents.models import Invitation, Membership, User
from tests.conftest import make_org

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]

STRONG = "analytical-engine-1843"


def flash(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def org_url(org) -> str:
    return reverse("console:organization", args=[org.pk])


def test_the_switcher_lists_the_persons_organizations_and_switching_remembers_the_choice(client, member, org):
    second = make_org("Initech")
    Membership.objects.create(user=member, organization=second, role="admin")
    client.force_login(member)

    page = client.get(reverse("console:dashboard")).content.decode()
    assert 'aria-label="Organization switcher"' in page and "Initech" in page and "Acme" in page

    response = client.post(reverse("console:organization_switch"), {"organization": second.pk})
    assert response.status_code == 302 and response["Location"] == org_url(second)
    assert User.objects.get(pk=member.pk).active_organization_id == second.pk
    assert client.get(reverse("console:organization_home"))["Location"] == org_url(second)


def test_switching_to_an_organization_one_is_not_in_is_404(client, member, other_org):
    client.force_login(member)
    assert client.post(reverse("console:organization_switch"), {"organization": other_org.pk}).status_code == 404


def test_a_member_sees_the_members_but_not_the_admin_controls(client, member, owner, org):
    client.force_login(member)
    page = client.get(org_url(org)).content.decode()
    assert "owner" in page and "member" in page
    assert "Invite someone" not in page and "Remove" not in page and "Leave organization" in page


def test_an_outsider_gets_404_for_our_organization(client, outsider, org):
    client.force_login(outsider)
    assert client.get(org_url(org)).status_code == 404


def test_an_admin_creates_an_invitation_and_sees_its_link_once(client, admin_user, org):
    client.force_login(admin_user)
    response = client.post(reverse("console:invitation_create", args=[org.pk]),
                           {"role": "member", "email": "ada@example.com", "expires_in_days": 7, "reach": "write"})
    assert response.status_code == 200
    link = re.search(r'id="invitation-link">([^<]+)<', response.content.decode())
    assert link is not None and "/invite/inv_" in link[1]
    assert Invitation.objects.get().email == "ada@example.com"

    again = client.get(org_url(org)).content.decode()
    assert link[1] not in again and "ada@example.com" in again


def test_a_member_cannot_create_an_invitation(client, member, org):
    client.force_login(member)
    response = client.post(reverse("console:invitation_create", args=[org.pk]),
                           {"role": "member", "expires_in_days": 7, "reach": "write"})
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_an_admin_cannot_invite_an_owner_and_is_told_why(client, admin_user, org):
    client.force_login(admin_user)
    response = client.post(reverse("console:invitation_create", args=[org.pk]),
                           {"role": "owner", "expires_in_days": 7, "reach": "write"})
    assert response.status_code == 403 and b"Only an owner" in response.content


def test_someone_new_signs_up_through_the_link_and_lands_in_the_organization(client, owner, org, board):
    _, token = rules.create_invitation(owner, org, {"role": "member"})
    url = reverse("console:invitation", args=[token])
    page = client.get(url)
    assert page.status_code == 200 and b"Join Acme" in page.content and b"Create your account" in page.content

    response = client.post(url, {"username": "ada", "first_name": "Ada", "password": STRONG,
                                 "password_again": STRONG})

    assert response.status_code == 302 and response["Location"] == org_url(org)
    ada = User.objects.get(username="ada")
    assert ada.check_password(STRONG) and Membership.objects.get(user=ada).role == "member"
    assert client.get(reverse("console:board", args=[board.pk])).status_code == 200
    # The new person signs in again later with their own password.
    client.post(reverse("console:logout"))
    signin = client.post(reverse("console:login"), {"method": "password", "username": "ada", "password": STRONG})
    assert signin.status_code == 302


def test_a_weak_password_is_refused_on_its_field(client, owner, org):
    _, token = rules.create_invitation(owner, org, {})
    response = client.post(reverse("console:invitation", args=[token]),
                           {"username": "ada", "password": "password", "password_again": "password"})
    assert response.status_code == 422 and b"too common" in response.content
    assert not User.objects.filter(username="ada").exists()


def test_mismatched_passwords_are_refused(client, owner, org):
    _, token = rules.create_invitation(owner, org, {})
    response = client.post(reverse("console:invitation", args=[token]),
                           {"username": "ada", "password": STRONG, "password_again": STRONG + "x"})
    assert response.status_code == 422 and b"The two passwords differ." in response.content


def test_sign_ups_count_against_the_sign_in_rate_limit(client, owner, org, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "console_login": (2, 60)}
    _, token = rules.create_invitation(owner, org, {})
    url = reverse("console:invitation", args=[token])
    for _ in range(2):
        assert client.post(url, {"username": "ada", "password": "x", "password_again": "x"}).status_code == 422
    response = client.post(url, {"username": "ada", "password": STRONG, "password_again": STRONG})
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert not User.objects.filter(username="ada").exists()


def test_someone_signed_in_joins_with_one_click(client, outsider, owner, org):
    _, token = rules.create_invitation(owner, org, {"role": "admin"})
    client.force_login(outsider)
    url = reverse("console:invitation", args=[token])
    assert b"Join as outsider" in client.get(url).content

    response = client.post(url)

    assert response.status_code == 302
    assert Membership.objects.get(user=outsider, organization=org).role == "admin"


@pytest.mark.parametrize(("state", "status", "sentence"), [
    ("used", 410, b"used already"), ("revoked", 410, b"withdrawn"), ("tampered", 404, b"not valid")])
def test_a_bad_link_says_what_is_wrong_and_offers_no_form(client, owner, org, outsider, state, status, sentence):
    invitation, token = rules.create_invitation(owner, org, {})
    if state == "used":
        rules.accept_invitation(outsider, token)
    elif state == "revoked":
        rules.revoke_invitation(owner, invitation)
    else:
        token = token[:-1] + ("A" if not token.endswith("A") else "B")
    response = client.get(reverse("console:invitation", args=[token]))
    assert response.status_code == status and sentence in response.content
    assert b"Create your account" not in response.content


def test_in_clerk_mode_the_page_sends_people_to_clerk_instead_of_a_sign_up_form(client, owner, org, settings):
    settings.AUTH_MODE = "clerk"
    _, token = rules.create_invitation(owner, org, {})
    page = client.get(reverse("console:invitation", args=[token])).content
    assert b"Sign in with Clerk" in page and b"Create your account" not in page


def test_an_admin_changes_a_role_and_removes_a_member(client, admin_user, member, org):
    client.force_login(admin_user)
    target = Membership.objects.get(user=member)
    client.post(reverse("console:member_role", args=[org.pk, target.pk]), {"role": "admin"})
    assert Membership.objects.get(pk=target.pk).role == "admin"

    response = client.post(reverse("console:member_remove", args=[org.pk, target.pk]))
    assert response.status_code == 302 and not Membership.objects.filter(pk=target.pk).exists()


def test_an_admin_is_told_they_cannot_remove_an_owner(client, admin_user, owner, org):
    client.force_login(admin_user)
    target = Membership.objects.get(user=owner)
    response = client.post(reverse("console:member_remove", args=[org.pk, target.pk]))
    assert response.status_code == 403 and b"Only an owner" in response.content
    assert Membership.objects.filter(pk=target.pk).exists()


def test_the_last_owner_is_told_they_cannot_leave(client, owner, org):
    client.force_login(owner)
    response = client.post(reverse("console:organization_leave", args=[org.pk]), follow=True)
    assert "An organization needs an owner: make someone else an owner first." in flash(response)
    assert Membership.objects.filter(user=owner, organization=org).exists()


def test_an_owner_hands_over_ownership_then_leaves(client, owner, member, org):
    client.force_login(owner)
    target = Membership.objects.get(user=member)
    client.post(reverse("console:organization_transfer", args=[org.pk]), {"membership": target.pk})
    assert Membership.objects.get(pk=target.pk).role == "owner"

    response = client.post(reverse("console:organization_leave", args=[org.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("console:organizations")
    assert not Membership.objects.filter(user=owner, organization=org).exists()


def test_an_admin_limits_a_member_to_one_board(client, admin_user, member, org, board):
    from tests.conftest import make_board

    hidden = make_board(org, "Payroll")
    target = Membership.objects.get(user=member)
    client.force_login(admin_user)
    url = reverse("console:member_access", args=[org.pk, target.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"reach": "chosen", "read_boards": [board.pk]})
    assert response.status_code == 302

    client.force_login(member)
    assert client.get(reverse("console:board", args=[board.pk])).status_code == 200
    assert client.get(reverse("console:board", args=[hidden.pk])).status_code == 404


def test_a_member_cannot_open_the_board_access_page(client, member, admin_user, org):
    client.force_login(member)
    target = Membership.objects.get(user=admin_user)
    assert client.get(reverse("console:member_access", args=[org.pk, target.pk])).status_code == 403


def test_anyone_signed_in_creates_an_organization(client, member):
    client.force_login(member)
    response = client.post(reverse("console:organizations"), {"name": "Skunkworks"})
    assert response.status_code == 302
    assert Membership.objects.get(user=member, organization__name="Skunkworks").role == "owner"


def test_the_profile_page_saves_name_and_time_zone_and_refuses_an_unknown_zone(client, member):
    client.force_login(member)
    url = reverse("console:profile")
    assert client.get(url).status_code == 200
    assert client.post(url, {"first_name": "Grace", "last_name": "Hopper", "timezone": "Asia/Tokyo"}).status_code == 302
    assert User.objects.get(pk=member.pk).timezone == "Asia/Tokyo"

    refused = client.post(url, {"first_name": "Grace", "timezone": "Mars/Base"})
    assert refused.status_code == 422 and b"Use a time zone name" in refused.content


def test_unknown_members_and_invitations_are_the_consoles_404(client, owner, org):
    import uuid

    client.force_login(owner)
    nobody = uuid.uuid4()
    assert client.post(reverse("console:organization_transfer", args=[org.pk]), {"membership": nobody}).status_code == 404
    assert client.post(reverse("console:organization_transfer", args=[org.pk]), {}).status_code == 404
    assert client.post(reverse("console:member_remove", args=[org.pk, nobody])).status_code == 404
    assert client.get(reverse("console:member_access", args=[org.pk, nobody])).status_code == 404
    assert client.post(reverse("console:invitation_revoke", args=[org.pk, nobody])).status_code == 404
