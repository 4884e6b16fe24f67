"""The rules of organizations and people: roles, the last owner, board access, invitations, profiles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from agents import access, rules
from agents.models import ActivityEvent, BoardAccess, Invitation, Membership, Organization, User
from agents.refusals import RuleViolation
from tests.conftest import make_board, make_task, make_user

pytestmark = pytest.mark.django_db


def refused(call, status: int, code: str) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        call()
    assert (caught.value.status_code, caught.value.code) == (status, code), caught.value
    return caught.value


def membership(user, org) -> Membership:
    return Membership.objects.get(user=user, organization=org)


# --- organizations -----------------------------------------------------------------------------

def test_whoever_creates_an_organization_owns_it_and_works_in_it(member):
    org = rules.create_organization(member, {"name": "Side project"})

    assert membership(member, org).role == "owner"
    assert org.slug == "side-project"
    assert User.objects.get(pk=member.pk).active_organization_id == org.pk
    assert ActivityEvent.objects.filter(event_type="organization.created", organization_id=org.pk).exists()


def test_two_organizations_of_the_same_name_get_different_short_names(member, outsider):
    first = rules.create_organization(member, {"name": "Lab"})
    second = rules.create_organization(outsider, {"name": "Lab"})
    assert first.slug != second.slug


def test_an_organization_needs_a_name(member):
    refused(lambda: rules.create_organization(member, {"name": "  "}), 422, "name_required")


def test_a_taken_short_name_is_refused_when_asked_for(member, org):
    refused(lambda: rules.create_organization(member, {"name": "Copy", "slug": org.slug}), 409,
            "organization_slug_taken")


def test_only_owners_and_admins_rename_an_organization(org, admin_user, member):
    refused(lambda: rules.update_organization(member, org, {"name": "Mine"}), 403, "admin_required")
    rules.update_organization(admin_user, org, {"name": "Acme Corp"})
    assert Organization.objects.get(pk=org.pk).name == "Acme Corp"


# --- roles and the last owner --------------------------------------------------------------------

def test_an_admin_changes_a_members_role_and_the_change_is_recorded(org, admin_user, member):
    rules.change_member_role(admin_user, membership(member, org), "admin")

    assert membership(member, org).role == "admin"
    event = ActivityEvent.objects.get(event_type="member.role_changed")
    assert event.data["from"] == "member" and event.data["to"] == "admin"


def test_a_member_cannot_change_roles(org, member, admin_user):
    refused(lambda: rules.change_member_role(member, membership(admin_user, org), "member"), 403, "admin_required")


def test_only_an_owner_makes_or_unmakes_an_owner(org, owner, admin_user, member):
    refused(lambda: rules.change_member_role(admin_user, membership(member, org), "owner"), 403, "owner_required")
    refused(lambda: rules.change_member_role(admin_user, membership(owner, org), "member"), 403, "owner_required")
    rules.change_member_role(owner, membership(member, org), "owner")
    assert membership(member, org).role == "owner"


def test_the_last_owner_cannot_be_demoted(org, owner):
    refused(lambda: rules.change_member_role(owner, membership(owner, org), "admin"), 409, "last_owner")
    assert membership(owner, org).role == "owner"


def test_the_last_owner_cannot_leave(org, owner):
    refused(lambda: rules.leave_organization(owner, org), 409, "last_owner")
    assert Membership.objects.filter(user=owner, organization=org).exists()


def test_an_owner_may_leave_once_another_owner_exists(org, owner, member):
    rules.change_member_role(owner, membership(member, org), "owner")
    rules.leave_organization(owner, org)

    assert not Membership.objects.filter(user=owner, organization=org).exists()
    assert ActivityEvent.objects.filter(event_type="member.left", organization_id=org.pk).exists()


def test_a_member_leaves_and_stops_seeing_the_boards(org, member, board):
    rules.leave_organization(member, org)
    assert not access.visible_boards(member).exists()


def test_leaving_forgets_the_organization_as_the_one_the_person_works_in(org, member):
    rules.update_profile(member, {"active_organization_id": str(org.pk)})
    rules.leave_organization(member, org)
    assert User.objects.get(pk=member.pk).active_organization_id is None


def test_an_admin_removes_a_member(org, admin_user, member):
    rules.remove_member(admin_user, membership(member, org))
    assert not Membership.objects.filter(user=member, organization=org).exists()
    assert ActivityEvent.objects.get(event_type="member.removed").data["user_id"] == str(member.pk)


def test_nobody_removes_themselves_they_leave(org, admin_user):
    refused(lambda: rules.remove_member(admin_user, membership(admin_user, org)), 409, "remove_self")


def test_an_admin_cannot_remove_an_owner_and_the_last_owner_is_never_removed(org, owner, admin_user):
    refused(lambda: rules.remove_member(admin_user, membership(owner, org)), 403, "owner_required")
    second = make_user("second-owner", org, "owner")
    rules.remove_member(second, membership(owner, org))
    refused(lambda: rules.remove_member(owner, membership(second, org)), 404, "organization_not_found")


def test_a_member_cannot_remove_anyone(org, member, admin_user):
    refused(lambda: rules.remove_member(member, membership(admin_user, org)), 403, "admin_required")


def test_transferring_ownership_makes_the_owner_an_admin(org, owner, member):
    rules.transfer_ownership(owner, org, membership(member, org))

    assert membership(member, org).role == "owner"
    assert membership(owner, org).role == "admin"
    # The new owner is now the last one, so the rule holds for them too.
    refused(lambda: rules.leave_organization(member, org), 409, "last_owner")


def test_only_an_owner_transfers_ownership(org, admin_user, member):
    refused(lambda: rules.transfer_ownership(admin_user, org, membership(member, org)), 403, "owner_required")


def test_ownership_goes_only_to_a_member_of_the_same_organization(org, owner, outsider, other_org):
    refused(lambda: rules.transfer_ownership(owner, org, membership(outsider, other_org)), 404, "member_not_found")


# --- board access -----------------------------------------------------------------------------

def test_members_reach_every_board_by_default(org, member, board):
    assert access.board_access_of(member, board) == "write"
    assert list(access.visible_boards(member)) == [board]


def test_a_member_limited_to_some_boards_sees_only_those(org, admin_user, member, board):
    hidden = make_board(org, "Payroll")
    rules.set_board_access(admin_user, membership(member, org), {
        "all_boards_read": False, "all_boards_write": False, "boards": [{"board_id": str(board.pk), "can_write": True}]})

    assert list(access.visible_boards(member)) == [board]
    assert access.board_access_of(member, hidden) is None
    with pytest.raises(Http404):
        rules.create_task(member, hidden, {"title": "Peek"})


def test_a_read_only_member_reads_a_board_but_cannot_change_its_tasks(org, admin_user, member, board):
    task = make_task(board, "Draft")
    rules.set_board_access(admin_user, membership(member, org), {"all_boards_read": True, "all_boards_write": False})

    assert board in access.visible_boards(member)
    refused(lambda: rules.update_task(member, task, {"title": "Changed"}), 403, "board_read_only")
    refused(lambda: rules.add_comment(member, task, "Hello"), 403, "board_read_only")


def test_reading_every_board_and_working_on_one(org, admin_user, member, board):
    other = make_board(org, "Ops")
    rules.set_board_access(admin_user, membership(member, org), {
        "all_boards_read": True, "all_boards_write": False, "boards": [{"board_id": str(board.pk), "can_write": True}]})

    assert access.board_access_of(member, board) == "write"
    assert access.board_access_of(member, other) == "read"


def test_admins_reach_every_board_whatever_their_flags_say(org, owner, admin_user, board):
    Membership.objects.filter(user=admin_user).update(all_boards_read=False, all_boards_write=False)
    assert access.board_access_of(admin_user, board) == "write"


def test_board_access_names_only_boards_of_the_organization(org, admin_user, member, other_board):
    refused(lambda: rules.set_board_access(admin_user, membership(member, org), {
        "all_boards_write": False, "all_boards_read": False,
        "boards": [{"board_id": str(other_board.pk), "can_write": False}]}), 422, "board_not_in_organization")


def test_a_member_cannot_change_board_access(org, member, admin_user):
    refused(lambda: rules.set_board_access(member, membership(member, org), {"all_boards_write": True}), 403,
            "admin_required")


def test_changing_board_access_replaces_the_grants(org, admin_user, member, board):
    spec = {"all_boards_read": False, "all_boards_write": False, "boards": [{"board_id": str(board.pk)}]}
    rules.set_board_access(admin_user, membership(member, org), spec)
    rules.set_board_access(admin_user, membership(member, org), {"all_boards_write": True})
    assert not BoardAccess.objects.filter(membership__user=member).exists()
    assert ActivityEvent.objects.filter(event_type="member.board_access_changed").count() == 2


# --- invitations -------------------------------------------------------------------------------

def test_an_invitation_token_is_stored_only_as_a_digest(org, owner):
    invitation, token = rules.create_invitation(owner, org, {"role": "admin", "email": "ada@example.com"})

    assert token.startswith("inv_")
    stored = Invitation.objects.filter(pk=invitation.pk).values()[0]
    assert all(token not in str(value) for value in stored.values())
    assert invitation.token_key in token and invitation.token_digest != token


def test_accepting_an_invitation_makes_a_member_with_the_invited_role_and_board_access(org, owner, outsider, board):
    _, token = rules.create_invitation(owner, org, {
        "role": "member", "all_boards_read": False, "all_boards_write": False,
        "boards": [{"board_id": str(board.pk), "can_write": False}]})

    joined = rules.accept_invitation(outsider, token)

    assert (joined.role, joined.all_boards_read, joined.all_boards_write) == ("member", False, False)
    assert access.board_access_of(outsider, board) == "read"
    assert User.objects.get(pk=outsider.pk).active_organization_id == org.pk
    assert ActivityEvent.objects.filter(event_type="invitation.accepted", organization_id=org.pk).exists()


def test_an_invitation_works_once(org, owner, outsider):
    _, token = rules.create_invitation(owner, org, {})
    rules.accept_invitation(outsider, token)
    stranger = make_user("stranger")

    refused(lambda: rules.accept_invitation(stranger, token), 410, "invitation_used")
    assert not Membership.objects.filter(user=stranger).exists()


def test_an_expired_invitation_is_refused(org, owner, outsider):
    invitation, token = rules.create_invitation(owner, org, {"expires_in_days": 1})
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    refused(lambda: rules.accept_invitation(outsider, token), 410, "invitation_expired")


def test_a_withdrawn_invitation_is_refused(org, owner, outsider):
    invitation, token = rules.create_invitation(owner, org, {})
    rules.revoke_invitation(owner, invitation)

    refused(lambda: rules.accept_invitation(outsider, token), 410, "invitation_revoked")
    refused(lambda: rules.revoke_invitation(owner, invitation), 409, "invitation_not_pending")


@pytest.mark.parametrize("change", ["last character", "key", "secret cut short", "prefix", "empty", "garbage"])
def test_a_tampered_invitation_token_is_not_found(org, owner, outsider, change):
    _, token = rules.create_invitation(owner, org, {})
    key, secret = token.removeprefix("inv_").split("_", 1)
    tampered = {
        "last character": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "key": f"inv_{'0' * 16}_{secret}",
        "secret cut short": token[:-5],
        "prefix": "mc_" + token.removeprefix("inv_"),
        "empty": "",
        "garbage": "x" * 5000,
    }[change]

    refused(lambda: rules.accept_invitation(outsider, tampered), 404, "invitation_not_found")
    assert not Membership.objects.filter(user=outsider, organization=org).exists()


def test_an_invitation_of_another_organization_joins_only_that_one(org, owner, outsider, other_org, member):
    _, token = rules.create_invitation(outsider, other_org, {})
    rules.accept_invitation(member, token)

    assert set(Membership.objects.filter(user=member).values_list("organization_id", flat=True)) == {
        org.pk, other_org.pk}
    assert membership(member, org).role == "member"
    with pytest.raises(RuleViolation) as caught:
        access.invitation_of(org, Invitation.objects.get(organization=other_org).pk)
    assert caught.value.code == "invitation_not_found"


def test_a_member_cannot_use_an_invitation_to_their_own_organization_and_it_stays_usable(org, owner, member,
                                                                                          outsider):
    _, token = rules.create_invitation(owner, org, {"role": "admin"})
    refused(lambda: rules.accept_invitation(member, token), 409, "already_member")
    assert membership(member, org).role == "member"
    rules.accept_invitation(outsider, token)


def test_only_admins_invite_and_only_owners_invite_owners(org, owner, admin_user, member):
    refused(lambda: rules.create_invitation(member, org, {}), 403, "admin_required")
    refused(lambda: rules.create_invitation(admin_user, org, {"role": "owner"}), 403, "owner_required")
    invitation, _ = rules.create_invitation(owner, org, {"role": "owner"})
    assert invitation.role == "owner"


@pytest.mark.parametrize(("data", "code"), [
    ({"expires_in_days": 0}, "invalid_expires_in_days"),
    ({"expires_in_days": 31}, "invalid_expires_in_days"),
    ({"email": "not-an-address"}, "invalid_email"),
    ({"role": "king"}, "invalid_role"),
    ({"colour": "red"}, "unknown_field"),
])
def test_invitation_values_are_checked(org, owner, data, code):
    refused(lambda: rules.create_invitation(owner, org, data), 422, code)


def test_signing_up_through_an_invitation_makes_a_person_with_their_own_password(org, owner):
    _, token = rules.create_invitation(owner, org, {"role": "admin"})

    person = rules.sign_up_with_invitation(token, {"username": "ada", "password": "analytical-engine-1843",
                                                   "first_name": "Ada", "last_name": "Lovelace"})

    assert person.check_password("analytical-engine-1843")
    assert person.get_full_name() == "Ada Lovelace"
    assert membership(person, org).role == "admin"
    refused(lambda: rules.sign_up_with_invitation(token, {"username": "bob", "password": "analytical-engine-1843"}),
            410, "invitation_used")


@pytest.mark.parametrize(("data", "status", "code"), [
    ({"username": "ada", "password": "short"}, 422, "weak_password"),
    ({"username": "ada", "password": "password"}, 422, "weak_password"),
    ({"username": "adalovelace", "password": "adalovelace1"}, 422, "weak_password"),
    ({"username": "owner", "password": "analytical-engine-1843"}, 409, "username_taken"),
    ({"username": "two words", "password": "analytical-engine-1843"}, 422, "invalid_username"),
    ({"username": "", "password": "analytical-engine-1843"}, 422, "username_required"),
])
def test_sign_up_uses_the_password_validators_and_refuses_taken_names(org, owner, data, status, code):
    invitation, token = rules.create_invitation(owner, org, {})
    refused(lambda: rules.sign_up_with_invitation(token, data), status, code)
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None
    assert not User.objects.filter(username="ada").exists()


def test_sign_up_is_only_for_local_mode(settings, org, owner):
    settings.AUTH_MODE = "clerk"
    _, token = rules.create_invitation(owner, org, {})
    refused(lambda: rules.sign_up_with_invitation(token, {"username": "ada", "password": "analytical-engine-1843"}),
            409, "sign_up_unavailable")


# --- profile ---------------------------------------------------------------------------------

def test_a_person_sets_their_name_and_time_zone(member):
    rules.update_profile(member, {"first_name": "Grace", "last_name": "Hopper", "timezone": "America/New_York"})

    stored = User.objects.get(pk=member.pk)
    assert (stored.first_name, stored.last_name, stored.timezone) == ("Grace", "Hopper", "America/New_York")
    assert ActivityEvent.objects.get(event_type="user.profile_updated").data["fields"] == [
        "first_name", "last_name", "timezone"]


def test_an_unknown_time_zone_is_refused(member):
    refused(lambda: rules.update_profile(member, {"timezone": "Mars/Olympus"}), 422, "invalid_timezone")


def test_a_person_works_only_in_an_organization_they_belong_to(member, other_org):
    refused(lambda: rules.update_profile(member, {"active_organization_id": str(other_org.pk)}), 404,
            "organization_not_found")


def test_a_member_limited_to_some_boards_reads_only_their_activity(org, admin_user, member, board):
    hidden = make_board(org, "Payroll")
    rules.create_task(admin_user, board, {"title": "Open"})
    rules.create_task(admin_user, hidden, {"title": "Secret"})
    rules.set_board_access(admin_user, membership(member, org), {
        "all_boards_read": False, "all_boards_write": False, "boards": [{"board_id": str(board.pk)}]})

    boards = set(access.visible_activity(member).values_list("board_id", flat=True))
    assert board.pk in boards and hidden.pk not in boards
    assert hidden.pk in set(access.visible_activity(admin_user).values_list("board_id", flat=True))
    # Events of the organization itself (no board) stay readable.
    assert access.visible_activity(member).filter(event_type="member.board_access_changed").exists()
