"""Clerk mode in the console: a person invited by link, carrying only Clerk's session
cookie (a real RS256 token checked against the test JWKS), signs in through the console's
sign-in page and joins with the invited role; the link then works for nobody else."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from agents import rules
from agents.models import Board, BoardAccess, Membership, User
from tests.agents.clerk_keys import session_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static", "fresh_keys", "clerk")]

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _browser(keys, sub: str, email: str) -> Client:
    """A browser holding a Clerk session for ``sub`` and no console session yet; it sends
    CSRF tokens like a real one must."""
    browser = Client(enforce_csrf_checks=True)
    browser.cookies["__session"] = session_token(keys["current"], sub=sub, email=email)
    return browser


def _join(browser: Client, link: str):
    """Open the link, follow its sign-in link, come back and press Join; the last answer."""
    page = browser.get(link)
    assert page.status_code == 200
    html = page.content.decode()
    if "Join as" not in html:
        sign_in = re.search(r'<a href="([^"]+)">come back to this page</a>', html)
        assert sign_in is not None, html
        back = browser.get(sign_in[1].replace("&amp;", "&"))
        assert back.status_code == 302 and back["Location"] == link
        html = browser.get(link).content.decode()
    assert "Join as" in html
    token = CSRF.search(html)
    assert token is not None
    return browser.post(link, {"csrfmiddlewaretoken": token[1]})


def test_an_invited_clerk_user_joins_with_the_invited_role_and_board_access(keys, owner, org, board):
    other = Board.objects.create(organization=org, name="Other", slug="other")
    _, token = rules.create_invitation(owner, org, {
        "role": "member", "email": "ada@example.com", "all_boards_write": False, "all_boards_read": False,
        "boards": [{"board_id": str(board.pk), "can_write": True}]})
    link = reverse("console:invitation", args=[token])
    browser = _browser(keys, "user_ada", "ada@example.com")

    joined = _join(browser, link)

    assert joined.status_code == 302 and joined["Location"] == reverse("console:organization", args=[org.pk])
    ada = User.objects.get(clerk_user_id="user_ada")
    membership = Membership.objects.get(user=ada, organization=org)
    assert membership.role == "member" and not membership.all_boards_read
    assert list(BoardAccess.objects.filter(membership=membership).values_list("board_id", "can_write")) == [
        (board.pk, True)]
    assert ada.active_organization_id == org.pk
    boards = browser.get(reverse("console:boards")).content.decode()
    assert board.name in boards and other.name not in boards


def test_an_admin_invitation_makes_the_clerk_user_an_admin(keys, owner, org):
    _, token = rules.create_invitation(owner, org, {"role": "admin"})
    _join(_browser(keys, "user_grace", "grace@example.com"), reverse("console:invitation", args=[token]))
    assert Membership.objects.get(user__clerk_user_id="user_grace", organization=org).role == "admin"


def test_a_used_link_is_refused_to_the_same_person_and_to_another_clerk_user(keys, owner, org):
    _, token = rules.create_invitation(owner, org, {"role": "member", "email": "ada@example.com"})
    link = reverse("console:invitation", args=[token])
    ada = _browser(keys, "user_ada", "ada@example.com")
    assert _join(ada, link).status_code == 302

    again = ada.get(link)
    assert again.status_code == 410 and "This invitation has been used already." in again.content.decode()

    mallory = _browser(keys, "user_mallory", "mallory@example.com")
    refused = mallory.get(link)
    assert refused.status_code == 410 and "Join as" not in refused.content.decode()
    signed_in = mallory.get(reverse("console:login") + "?next=" + link)
    assert signed_in.status_code == 302
    csrf = CSRF.search(mallory.get(reverse("console:profile")).content.decode())
    assert csrf is not None
    posted = mallory.post(link, {"csrfmiddlewaretoken": csrf[1]})
    assert posted.status_code == 410 and "This invitation has been used already." in posted.content.decode()
    assert not Membership.objects.filter(user__clerk_user_id="user_mallory").exists()
    assert Membership.objects.filter(organization=org, user__clerk_user_id="user_ada").count() == 1


def test_a_clerk_session_the_jwks_does_not_vouch_for_joins_nobody(keys, owner, org):
    _, token = rules.create_invitation(owner, org, {"role": "member"})
    link = reverse("console:invitation", args=[token])
    browser = Client(enforce_csrf_checks=True)
    browser.cookies["__session"] = session_token(keys["stranger"], sub="user_forged")

    assert browser.get(reverse("console:login") + "?next=" + link).status_code == 401
    html = browser.get(link).content.decode()
    assert "Join as" not in html and "Sign in with Clerk" in html
    assert not User.objects.filter(clerk_user_id="user_forged").exists()
