"""Organizations and the people in them: creating organizations, members and their roles,
which boards a member reaches, invitations by link, leaving, removing, handing over
ownership, and a person's own profile.

An organization always keeps an owner: the last one can neither leave, be removed nor
be demoted (409 ``last_owner``); they hand ownership over first. Owners and admins
manage members and invitations; only an owner makes, changes or removes an owner.

An invitation is a link holding a token ``inv_<key>_<secret>``. Only the key and a keyed
digest are stored, so a database dump hands out no working link; the token is found by
one indexed lookup of the key and checked with one constant-time comparison. A link
works once (a conditional update claims it, so two people racing with the same link
cannot both join) and until it expires.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from agents import access, activity
from agents.models import Board, BoardAccess, Invitation, Membership, Organization, User
from agents.refusals import RuleViolation
from agents.rules.inputs import (
    choice,
    flag,
    name_text,
    optional_text,
    slug_text,
    unknown_fields,
    uuid_value,
)
from agents.rules.unique import save_unique

Role = Membership.Role
NAME_MAX_LENGTH = 200
SLUG_TAKEN = ("organization_slug_taken", "Another organization already uses this short name (slug).")
INVITATION_DAYS_DEFAULT = 7
INVITATION_DAYS_MAX = 30
INVITATION_PREFIX = "inv_"
_INVITATION_SHAPE = re.compile(r"inv_([0-9a-f]{16})_([A-Za-z0-9_-]{20,100})")
_INVITATION_PURPOSE = b"missioncontrol.agents.invitations.digest-key"
# Compared against when the key is unknown, so an unknown and a wrong token cost the same.
_NO_MATCH_DIGEST = "0" * 64
PROFILE_FIELDS = ("first_name", "last_name", "timezone", "active_organization_id")


def _refuse_last_owner() -> RuleViolation:
    return RuleViolation(409, "last_owner", "An organization needs an owner: make someone else an owner first.")


def _owner_only(what: str) -> RuleViolation:
    return RuleViolation(403, "owner_required", f"Only an owner of the organization may {what}.")


def _require_member(user: User, org_id: Any) -> Membership:
    membership = Membership.objects.filter(user=user, organization_id=org_id).first()
    if membership is None:
        raise RuleViolation(404, "organization_not_found", "No such organization.")
    return membership


def _other_owners(membership: Membership) -> int:
    """How many owners the organization has besides ``membership``, counted with the owner
    rows locked so two owners leaving at once cannot both be "not the last"."""
    owners = list(Membership.objects.select_for_update().filter(
        organization_id=membership.organization_id, role=Role.OWNER).values_list("pk", flat=True))
    return sum(1 for pk in owners if pk != membership.pk)


# --- organizations ------------------------------------------------------------------------

def create_organization(user: User, data: dict[str, Any]) -> Organization:
    """A new organization, owned by the person who creates it (who then works in it)."""
    unknown_fields(data, ("name", "slug"), "organization")
    name = name_text(data.get("name"), what="An organization", max_length=NAME_MAX_LENGTH)
    slug = slug_text(data["slug"], max_length=NAME_MAX_LENGTH) if data.get("slug") else (
        slugify(name)[:NAME_MAX_LENGTH] or "organization")
    if not data.get("slug") and Organization.objects.filter(slug=slug).exists():
        slug = f"{slug[:NAME_MAX_LENGTH - 7]}-{secrets.token_hex(3)}"
    if Organization.objects.filter(slug=slug).exists():
        raise RuleViolation(409, *SLUG_TAKEN)

    def create() -> Organization:
        org = Organization.objects.create(name=name, slug=slug)
        Membership.objects.create(user=user, organization=org, role=Role.OWNER)
        User.objects.filter(pk=user.pk).update(active_organization=org)
        user.active_organization = org
        activity.record("organization.created", actor=user, organization=org, message=f"Organization {name} created",
                        data={"organization_id": str(org.pk)})
        return org

    return save_unique(*SLUG_TAKEN, create)


def update_organization(user: User, org: Organization, data: dict[str, Any]) -> Organization:
    access.require_admin(user, org)
    unknown_fields(data, ("name",), "organization")
    if "name" not in data:
        return org
    name = name_text(data["name"], what="An organization", max_length=NAME_MAX_LENGTH)
    if name != org.name:
        with transaction.atomic():
            org.name = name
            org.save(update_fields=["name"])
            activity.record("organization.updated", actor=user, organization=org,
                            message=f"Organization renamed to {name}", data={"fields": ["name"]})
    return org


# --- members ------------------------------------------------------------------------------

def _check_may_manage(actor: Membership, target: Membership, new_role: str | None = None) -> None:
    if not actor.is_admin:
        raise RuleViolation(403, "admin_required", "Only an owner or admin of the organization may do this.")
    if actor.role != Role.OWNER and (target.role == Role.OWNER or new_role == Role.OWNER):
        raise _owner_only("make, change or remove an owner")


def change_member_role(user: User, membership: Membership, role: Any) -> Membership:
    role = choice(role, Role, "role")
    actor = _require_member(user, membership.organization_id)
    _check_may_manage(actor, membership, role)
    if role == membership.role:
        return membership
    with transaction.atomic():
        if membership.role == Role.OWNER and _other_owners(membership) == 0:
            raise _refuse_last_owner()
        before = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        activity.record("member.role_changed", actor=user, organization=membership.organization_id,
                        message=f"{_name(membership.user)} is now {role}",
                        data={"membership_id": str(membership.pk), "user_id": str(membership.user_id),
                              "from": before, "to": role})
    return membership


def _board_grants(org_id: Any, boards: Any) -> dict[uuid.UUID, bool]:
    """``[{board_id, can_write}]`` read as board id -> can_write, every board of ``org_id``."""
    if boards is None:
        return {}
    if not isinstance(boards, list):
        raise RuleViolation(422, "invalid_boards", "boards must be a list of {board_id, can_write}.", field="boards")
    grants: dict[uuid.UUID, bool] = {}
    for entry in boards:
        if not isinstance(entry, dict) or "board_id" not in entry:
            raise RuleViolation(422, "invalid_boards", "Each board needs a board_id.", field="boards")
        unknown_fields(entry, ("board_id", "can_write"), "board access")
        grants[uuid_value(entry["board_id"], "board_id")] = flag(entry.get("can_write", False), "can_write")
    known = set(Board.objects.filter(organization_id=org_id, pk__in=grants).values_list("pk", flat=True))
    if missing := [str(pk) for pk in grants if pk not in known]:
        raise RuleViolation(422, "board_not_in_organization", "Every board must belong to the organization.",
                            field="boards", board_ids=missing)
    return grants


@dataclass(frozen=True)
class BoardReach:
    all_boards_read: bool
    all_boards_write: bool
    boards: dict[uuid.UUID, bool]


def _board_reach(org_id: Any, data: dict[str, Any]) -> BoardReach:
    write = flag(data.get("all_boards_write", True), "all_boards_write")
    # Writing every board includes reading it.
    read = write or flag(data.get("all_boards_read", True), "all_boards_read")
    grants = {} if write else _board_grants(org_id, data.get("boards"))
    if read:
        grants = {pk: can_write for pk, can_write in grants.items() if can_write}
    return BoardReach(read, write, grants)


def set_board_access(user: User, membership: Membership, data: dict[str, Any]) -> Membership:
    """Which boards a member reaches: ``all_boards_write`` (every board, the default),
    ``all_boards_read`` (read all, write those granted) or neither (only ``boards``).
    Owners' and admins' reach is always every board."""
    unknown_fields(data, ("all_boards_read", "all_boards_write", "boards"), "board access")
    actor = _require_member(user, membership.organization_id)
    _check_may_manage(actor, membership)
    reach = _board_reach(membership.organization_id, data)
    with transaction.atomic():
        membership.all_boards_read, membership.all_boards_write = reach.all_boards_read, reach.all_boards_write
        membership.save(update_fields=["all_boards_read", "all_boards_write"])
        BoardAccess.objects.filter(membership=membership).delete()
        BoardAccess.objects.bulk_create([BoardAccess(membership=membership, board_id=pk, can_write=can_write)
                                         for pk, can_write in reach.boards.items()])
        activity.record("member.board_access_changed", actor=user, organization=membership.organization_id,
                        message=f"Board access of {_name(membership.user)} changed",
                        data={"membership_id": str(membership.pk), "all_boards_read": reach.all_boards_read,
                              "all_boards_write": reach.all_boards_write,
                              "boards": {str(pk): can_write for pk, can_write in reach.boards.items()}})
    return membership


def _forget_active(membership: Membership) -> None:
    User.objects.filter(pk=membership.user_id, active_organization_id=membership.organization_id).update(
        active_organization=None)


def remove_member(user: User, membership: Membership) -> None:
    """Take a member out of the organization; to go yourself, leave."""
    if membership.user_id == user.pk:
        raise RuleViolation(409, "remove_self", "To go yourself, leave the organization.")
    actor = _require_member(user, membership.organization_id)
    _check_may_manage(actor, membership)
    with transaction.atomic():
        if membership.role == Role.OWNER and _other_owners(membership) == 0:
            raise _refuse_last_owner()
        _forget_active(membership)
        activity.record("member.removed", actor=user, organization=membership.organization_id,
                        message=f"{_name(membership.user)} removed from the organization",
                        data={"membership_id": str(membership.pk), "user_id": str(membership.user_id),
                              "role": membership.role})
        membership.delete()


def leave_organization(user: User, org: Organization) -> None:
    membership = _require_member(user, org.pk)
    with transaction.atomic():
        if membership.role == Role.OWNER and _other_owners(membership) == 0:
            raise _refuse_last_owner()
        _forget_active(membership)
        activity.record("member.left", actor=user, organization=org, message=f"{_name(user)} left the organization",
                        data={"membership_id": str(membership.pk), "user_id": str(user.pk), "role": membership.role})
        membership.delete()


def transfer_ownership(user: User, org: Organization, target: Membership) -> Membership:
    """Make ``target`` an owner in place of the calling owner, who stays on as an admin."""
    actor = _require_member(user, org.pk)
    if actor.role != Role.OWNER:
        raise _owner_only("hand over ownership")
    if target.organization_id != org.pk:
        raise RuleViolation(404, "member_not_found", "No such member.")
    if target.pk == actor.pk:
        raise RuleViolation(409, "already_owner", "You own the organization already.")
    with transaction.atomic():
        target.role = Role.OWNER
        target.save(update_fields=["role"])
        actor.role = Role.ADMIN
        actor.save(update_fields=["role"])
        activity.record("organization.ownership_transferred", actor=user, organization=org,
                        message=f"{_name(user)} handed ownership to {_name(target.user)}",
                        data={"from_user_id": str(user.pk), "to_user_id": str(target.user_id),
                              "membership_id": str(target.pk)})
    return target


# --- invitations --------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _digest_key(pepper: str, secret_key: str) -> bytes:
    return hmac.new((pepper or secret_key).encode(), _INVITATION_PURPOSE, hashlib.sha256).digest()


def invitation_digest(token: str) -> str:
    key = _digest_key(settings.AGENT_TOKEN_PEPPER, settings.SECRET_KEY)
    return hmac.new(key, token.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def create_invitation(user: User, org: Organization, data: dict[str, Any]) -> tuple[Invitation, str]:
    """A new invitation and its link's token, which exists only in the return value."""
    unknown_fields(data, ("role", "email", "expires_in_days", "all_boards_read", "all_boards_write", "boards"),
                   "invitation")
    actor = _require_member(user, org.pk)
    if not actor.is_admin:
        raise RuleViolation(403, "admin_required", "Only an owner or admin of the organization may invite people.")
    role = choice(data.get("role", Role.MEMBER), Role, "role")
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise _owner_only("invite an owner")
    email = optional_text(data.get("email"), "email", max_length=254).strip()
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise RuleViolation(422, "invalid_email", "That is not an email address.", field="email") from exc
    days = data.get("expires_in_days", INVITATION_DAYS_DEFAULT)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= INVITATION_DAYS_MAX:
        raise RuleViolation(422, "invalid_expires_in_days",
                            f"expires_in_days is a whole number of days from 1 to {INVITATION_DAYS_MAX}.",
                            field="expires_in_days")
    reach = _board_reach(org.pk, data)
    key = secrets.token_hex(8)
    token = f"{INVITATION_PREFIX}{key}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        invitation = Invitation.objects.create(
            organization=org, role=role, email=email, token_key=key, token_digest=invitation_digest(token),
            all_boards_read=reach.all_boards_read, all_boards_write=reach.all_boards_write,
            board_access={str(pk): can_write for pk, can_write in reach.boards.items()},
            created_by=user, expires_at=timezone.now() + timedelta(days=days))
        activity.record("invitation.created", actor=user, organization=org,
                        message=f"Invitation to join as {role} created",
                        data={"invitation_id": str(invitation.pk), "role": role, "email": email,
                              "expires_at": invitation.expires_at.isoformat()})
    return invitation, token


def revoke_invitation(user: User, invitation: Invitation) -> Invitation:
    access.require_admin(user, invitation.organization_id)
    if invitation.status != Invitation.Status.PENDING:
        raise RuleViolation(409, "invitation_not_pending", "Only a pending invitation can be revoked.")
    with transaction.atomic():
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        activity.record("invitation.revoked", actor=user, organization=invitation.organization_id,
                        message="Invitation revoked", data={"invitation_id": str(invitation.pk)})
    return invitation


def _invalid_link() -> RuleViolation:
    return RuleViolation(404, "invitation_not_found", "This invitation link is not valid.")


def find_invitation(token: Any) -> Invitation:
    """The pending invitation ``token`` opens. Unknown or altered: 404; accepted, revoked or
    expired: 410 with the reason."""
    raw = token.strip() if isinstance(token, str) else ""
    match = _INVITATION_SHAPE.fullmatch(raw) if len(raw) <= 160 else None
    invitation = None
    if match is not None:
        invitation = Invitation.objects.select_related("organization").filter(token_key=match[1]).first()
    expected = invitation.token_digest if invitation is not None else _NO_MATCH_DIGEST
    if not hmac.compare_digest(invitation_digest(raw[:160]), expected) or invitation is None:
        raise _invalid_link()
    status = invitation.status
    if status == Invitation.Status.ACCEPTED:
        raise RuleViolation(410, "invitation_used", "This invitation has been used already.")
    if status == Invitation.Status.REVOKED:
        raise RuleViolation(410, "invitation_revoked", "This invitation was withdrawn.")
    if status == Invitation.Status.EXPIRED:
        raise RuleViolation(410, "invitation_expired", "This invitation has expired; ask for a new one.")
    return invitation


def accept_invitation(user: User, token: Any) -> Membership:
    """Make ``user`` a member as the invitation says; the link works no more after this."""
    invitation = find_invitation(token)
    if Membership.objects.filter(user=user, organization_id=invitation.organization_id).exists():
        raise RuleViolation(409, "already_member", "You are a member of this organization already.")
    now = timezone.now()
    with transaction.atomic():
        claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True,
                                            expires_at__gt=now).update(accepted_at=now, accepted_by=user)
        if claimed != 1:
            raise RuleViolation(410, "invitation_used", "This invitation has been used already.")
        membership = Membership.objects.create(
            user=user, organization_id=invitation.organization_id, role=invitation.role,
            all_boards_read=invitation.all_boards_read, all_boards_write=invitation.all_boards_write)
        granted = {uuid.UUID(pk): bool(can_write) for pk, can_write in invitation.board_access.items()}
        existing = Board.objects.filter(organization_id=invitation.organization_id, pk__in=granted)
        BoardAccess.objects.bulk_create([BoardAccess(membership=membership, board=board, can_write=granted[board.pk])
                                         for board in existing])
        User.objects.filter(pk=user.pk).update(active_organization_id=invitation.organization_id)
        user.active_organization_id = invitation.organization_id
        activity.record("invitation.accepted", actor=user, organization=invitation.organization_id,
                        message=f"{_name(user)} joined as {invitation.role}",
                        data={"invitation_id": str(invitation.pk), "membership_id": str(membership.pk),
                              "user_id": str(user.pk), "role": invitation.role})
    membership.organization = invitation.organization
    return membership


def sign_up_with_invitation(token: Any, data: dict[str, Any]) -> User:
    """Local mode: a new person with their own password, member through the invitation.

    The password passes the installation's validators (``AUTH_PASSWORD_VALIDATORS``)."""
    if settings.AUTH_MODE != "local":
        raise RuleViolation(409, "sign_up_unavailable", "People sign up with Clerk in this installation.")
    find_invitation(token)
    username = data.get("username")
    if not isinstance(username, str) or not username.strip():
        raise RuleViolation(422, "username_required", "Choose a username.", field="username")
    username = username.strip()
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as exc:
        raise RuleViolation(422, "invalid_username", "A username is letters, digits and @ . + - _ only.",
                            field="username") from exc
    if len(username) > 150:
        raise RuleViolation(422, "username_too_long", "A username has at most 150 characters.", field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise RuleViolation(409, "username_taken", "That username is taken; choose another.", field="username")
    first_name = optional_text(data.get("first_name"), "first_name", max_length=150).strip()
    last_name = optional_text(data.get("last_name"), "last_name", max_length=150).strip()
    password = data.get("password")
    if not isinstance(password, str) or not password:
        raise RuleViolation(422, "password_required", "Choose a password.", field="password")
    candidate = User(username=username, first_name=first_name, last_name=last_name)
    try:
        password_validation.validate_password(password, candidate)
    except ValidationError as exc:
        raise RuleViolation(422, "weak_password", " ".join(exc.messages), field="password") from exc
    with transaction.atomic():
        candidate.set_password(password)
        save_unique("username_taken", "That username is taken; choose another.", candidate.save)
        accept_invitation(candidate, token)
    return candidate


# --- the person's own profile ---------------------------------------------------------------

def update_profile(user: User, data: dict[str, Any]) -> User:
    """A person's name, time zone and the organization the console starts in."""
    unknown_fields(data, PROFILE_FIELDS, "profile")
    values: dict[str, Any] = {}
    for name in ("first_name", "last_name"):
        if name in data:
            values[name] = optional_text(data[name], name, max_length=150).strip()
    if "timezone" in data:
        zone = optional_text(data["timezone"], "timezone", max_length=64).strip()
        if zone and zone not in zoneinfo.available_timezones():
            raise RuleViolation(422, "invalid_timezone", "Use a time zone name like Europe/Paris or UTC.",
                                field="timezone")
        values["timezone"] = zone
    if "active_organization_id" in data:
        org_id = data["active_organization_id"]
        if org_id is not None:
            org_id = _require_member(user, uuid_value(org_id, "active_organization_id")).organization_id
        values["active_organization_id"] = org_id
    changed = sorted(name for name, value in values.items() if getattr(user, name) != value)
    if changed:
        with transaction.atomic():
            for name in changed:
                setattr(user, name, values[name])
            user.save(update_fields=[name.removesuffix("_id") if name.endswith("_id") else name for name in changed])
            activity.record("user.profile_updated", actor=user, organization=user.active_organization_id,
                            message=f"{_name(user)} updated their profile", data={"fields": changed})
    return user


def active_organization(user: User) -> Organization | None:
    """The organization the person works in: the one they chose while still a member of it,
    else their first."""
    memberships = access.memberships(user).order_by("organization__name", "organization_id")
    chosen = next((m for m in memberships if m.organization_id == user.active_organization_id), None)
    if chosen is None:
        chosen = memberships.first()
    return chosen.organization if chosen is not None else None


def _name(user: User) -> str:
    return user.get_full_name() or user.get_username()
