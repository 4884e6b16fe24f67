"""The users behind user authentication: the local operator and Clerk users."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from agents.models import Membership, Organization, User

LOCAL_OPERATOR_USERNAME = "operator"
DEFAULT_ORGANIZATION_NAME = "Default"
DEFAULT_ORGANIZATION_SLUG = "default"


def default_organization() -> Organization:
    """The organization of local mode (and of ``grant_role`` without ``--organization``), created on first use."""
    org = Organization.objects.filter(is_default=True).first()
    if org is not None:
        return org
    try:
        with transaction.atomic():
            slug = DEFAULT_ORGANIZATION_SLUG
            if Organization.objects.filter(slug=slug).exists():
                slug = f"{slug}-{Organization.objects.count()}"
            return Organization.objects.create(name=DEFAULT_ORGANIZATION_NAME, slug=slug, is_default=True)
    except IntegrityError:
        # Another request created it between our read and our insert.
        return Organization.objects.get(is_default=True)


def _ensure_membership(user: User, org: Organization, role: str) -> None:
    try:
        with transaction.atomic():
            Membership.objects.get_or_create(user=user, organization=org, defaults={"role": role})
    except IntegrityError:
        pass  # created concurrently; the existing row stands


def _get_or_create_user(lookup: dict[str, str], defaults: dict[str, str]) -> tuple[User, bool]:
    try:
        with transaction.atomic():
            return User.objects.get_or_create(**lookup, defaults=defaults)
    except IntegrityError:
        return User.objects.get(**lookup), False


def local_operator() -> User:
    """The person behind ``LOCAL_AUTH_TOKEN``: a real user who owns the default organization."""
    user, created = _get_or_create_user({"username": LOCAL_OPERATOR_USERNAME}, {"first_name": "Local operator"})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        _ensure_membership(user, default_organization(), Membership.Role.OWNER)
    return user


def _email_address(value: object) -> str:
    """The claim's address when it is one, else "" (the API promises a real address or null)."""
    if not isinstance(value, str):
        return ""
    try:
        validate_email(value)
    except ValidationError:
        return ""
    return value


def clerk_user(sub: str, claims: dict[str, object] | None = None) -> User:
    """The user for a Clerk ``sub``, created on first sign-in without any membership.

    Anyone may be able to sign up to the Clerk application, so signing in grants nothing:
    an operator gives access with ``manage.py grant_role``."""
    user = User.objects.filter(clerk_user_id=sub).first()
    if user is not None:
        return user
    claims = claims or {}
    email = _email_address(claims.get("email"))
    username = f"clerk-{sub}"[:140]
    if User.objects.filter(username=username).exists():
        username = f"{username}-{secrets.token_hex(3)}"  # a person already holds the plain name
    user, created = _get_or_create_user({"clerk_user_id": sub}, {"username": username, "email": email})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
