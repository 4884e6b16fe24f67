"""``manage.py grant_role``: give a person a role in an organization.

Signing in (a Clerk account, or a user made with ``createsuperuser``) grants nothing; an
operator decides who works in which organization. Running it again changes the role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q

from agents.identity import default_organization
from agents.models import Membership, Organization, User


@dataclass
class GrantResult:
    user: User
    organization: Organization
    role: str
    previous_role: str | None

    def summary(self) -> str:
        who, where = self.user.get_username(), f"{self.organization.name} ({self.organization.slug})"
        if self.previous_role is None:
            return f"{who} is now {self.role} of {where}."
        if self.previous_role == self.role:
            return f"{who} already was {self.role} of {where}; nothing changed."
        return f"{who} is now {self.role} of {where} (was {self.previous_role})."


def find_user(identifier: str) -> User:
    """The user named by username, email or Clerk user id; CommandError when none or several."""
    identifier = identifier.strip()
    if not identifier:
        raise CommandError("Name a user: a username, an email address or a Clerk user id.")
    matches = list(User.objects.filter(Q(username=identifier) | Q(clerk_user_id=identifier)
                                       | Q(email__iexact=identifier))[:3])
    exact = [user for user in matches if identifier in (user.username, user.clerk_user_id)]
    if len(exact) == 1:
        return exact[0]
    if not matches:
        raise CommandError(f"No user {identifier!r} (username, email or Clerk user id). "
                           "In clerk mode a person exists after their first sign-in: ask them to sign in once.")
    if len(matches) > 1:
        raise CommandError(f"Several users match {identifier!r}; give the username instead.")
    return matches[0]


def find_organization(slug: str | None) -> Organization:
    if slug is None:
        return default_organization()
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        known = ", ".join(Organization.objects.order_by("slug").values_list("slug", flat=True)[:20]) or "none"
        raise CommandError(f"No organization with slug {slug!r} (known: {known}).")
    return org


def grant_role(identifier: str, role: str, organization_slug: str | None = None) -> GrantResult:
    """Make the user ``role`` of the organization, creating or changing the membership."""
    if role not in Membership.Role.values:
        raise CommandError(f"Unknown role {role!r}; use {', '.join(Membership.Role.values)}.")
    user = find_user(identifier)
    org = find_organization(organization_slug)
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(user=user, organization=org).first()
        previous = membership.role if membership is not None else None
        if membership is None:
            Membership.objects.create(user=user, organization=org, role=role)
        elif membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
    return GrantResult(user=user, organization=org, role=role, previous_role=previous)


class Command(BaseCommand):
    help = ("Give a person a role (owner, admin or member) in an organization, the default one unless "
            "--organization names another. USER is a username, an email address or a Clerk user id.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="Username, email address or Clerk user id (user_...).")
        parser.add_argument("--role", required=True, choices=Membership.Role.values,
                            help="member: works on boards; admin: also changes boards, gateways, agents and "
                                 "tags; owner: like admin.")
        parser.add_argument("--organization", metavar="SLUG", default=None,
                            help="The organization's slug; the default organization when omitted.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = grant_role(options["user"], options["role"], options["organization"])
        self.stdout.write(result.summary())
