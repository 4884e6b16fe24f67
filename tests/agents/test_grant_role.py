"""``manage.py grant_role``: how an operator gives a person access to an organization."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from agents.models import Membership, Organization
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def grant(*args: str) -> str:
    out = StringIO()
    call_command("grant_role", *args, stdout=out)
    return out.getvalue().strip()


def test_a_user_named_by_username_becomes_member_of_the_default_organization(org):
    ada = make_user("ada")

    output = grant("ada", "--role", "member")

    assert Membership.objects.get(user=ada).organization == org
    assert Membership.objects.get(user=ada).role == "member"
    assert output == "ada is now member of Acme (acme)."


def test_a_user_is_found_by_email_or_clerk_user_id(org, other_org):
    ada = make_user("clerk-user_2abc", email="Ada@Example.com", clerk_user_id="user_2abc")

    grant("ada@example.com", "--role", "admin")
    grant("user_2abc", "--role", "owner", "--organization", "globex")

    roles = dict(Membership.objects.filter(user=ada).values_list("organization__slug", "role"))
    assert roles == {"acme": "admin", "globex": "owner"}


def test_granting_again_changes_the_role_and_says_what_it_was(org):
    ada = make_user("ada", org, "member")

    output = grant("ada", "--role", "admin")

    assert Membership.objects.get(user=ada).role == "admin"
    assert output == "ada is now admin of Acme (acme) (was member)."
    assert grant("ada", "--role", "admin") == "ada already was admin of Acme (acme); nothing changed."


def test_the_default_organization_is_created_when_there_is_none(db):
    make_user("ada")

    grant("ada", "--role", "owner")

    assert Organization.objects.get(is_default=True).memberships.get().role == "owner"


def test_an_unknown_user_is_an_error_that_says_how_users_appear(org):
    with pytest.raises(CommandError, match="No user 'nobody'.*sign in once"):
        grant("nobody", "--role", "member")
    assert not Membership.objects.exists()


def test_an_unknown_organization_is_an_error(org):
    make_user("ada")
    with pytest.raises(CommandError, match="No organization with slug 'nowhere'"):
        grant("ada", "--role", "member", "--organization", "nowhere")


def test_an_email_shared_by_two_users_is_ambiguous(org):
    make_user("ada", email="team@example.com")
    make_user("bob", email="team@example.com")
    with pytest.raises(CommandError, match="Several users"):
        grant("team@example.com", "--role", "member")


def test_an_unknown_role_is_refused(org):
    make_user("ada")
    with pytest.raises(CommandError):
        grant("ada", "--role", "boss")

