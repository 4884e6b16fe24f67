"""The organization, member, invitation and profile routes of the user API: shapes, refusals
in the error envelope, the invitation link end to end, and Clerk users joining by link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agents.authentication import ClerkJWTAuthentication, SessionAuthentication
from agents.models import Invitation, Membership, User
from missioncontrol.api.views import PersonView
from tests.agents.api_helpers import assert_refused
from tests.agents.clerk_keys import session_token
from tests.conftest import make_board

pytestmark = pytest.mark.django_db


def test_organizations_list_the_callers_role(client_for, admin_user, org):
    body = client_for(admin_user).get("/api/v1/organizations").json()
    assert body["total"] == 1
    assert body["items"][0] | {"created_at": None} == {"id": str(org.pk), "name": "Acme", "slug": "acme",
                                                       "role": "admin", "created_at": None}


def test_creating_an_organization_answers_it_with_the_owner_role(client_for, member):
    response = client_for(member).post("/api/v1/organizations", {"name": "Skunkworks"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["role"] == "owner"
    assert Membership.objects.get(user=member, organization_id=response.json()["id"]).role == "owner"


def test_a_bad_organization_name_is_a_json_422(client_for, member):
    body = assert_refused(client_for(member).post("/api/v1/organizations", {"name": ""}, format="json"), 422,
                          "name_required")
    assert body["detail"]["name"] == ["An organization needs a name."]


def test_members_are_listed_with_their_roles_and_board_access(client_for, owner, member, org, board):
    client = client_for(owner)
    member_id = Membership.objects.get(user=member).pk
    response = client.put(f"/api/v1/organizations/{org.pk}/members/{member_id}/board-access",
                          {"all_boards_read": False, "all_boards_write": False,
                           "boards": [{"board_id": str(board.pk), "can_write": True}]}, format="json")
    assert response.status_code == 200, response.content

    items = {item["username"]: item for item in client.get(f"/api/v1/organizations/{org.pk}/members").json()["items"]}
    assert items["owner"]["role"] == "owner" and items["owner"]["all_boards_write"] is True
    assert items["member"]["boards"] == [{"board_id": str(board.pk), "can_write": True}]
    assert items["member"]["all_boards_read"] is False


def test_a_member_of_another_organization_is_404(client_for, owner, org, outsider):
    other = Membership.objects.get(user=outsider).pk
    assert_refused(client_for(owner).get(f"/api/v1/organizations/{org.pk}/members/{other}"), 404, "member_not_found")


def test_the_last_owner_leaving_is_a_409_naming_the_rule(client_for, owner, org):
    assert_refused(client_for(owner).post(f"/api/v1/organizations/{org.pk}/leave"), 409, "last_owner")


def test_transfer_then_leave(client_for, owner, member, org):
    client = client_for(owner)
    member_id = Membership.objects.get(user=member).pk
    response = client.post(f"/api/v1/organizations/{org.pk}/transfer-ownership", {"membership_id": str(member_id)},
                           format="json")
    assert response.status_code == 200 and response.json()["role"] == "owner"
    assert client.post(f"/api/v1/organizations/{org.pk}/leave").status_code == 204
    assert_refused(client.get(f"/api/v1/organizations/{org.pk}"), 404)


def test_an_invitation_link_is_shown_once_and_never_listed(client_for, owner, org, settings):
    settings.BASE_URL = "https://mc.example.com"
    client = client_for(owner)
    created = client.post(f"/api/v1/organizations/{org.pk}/invitations", {"role": "admin", "email": "ada@example.com"},
                          format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["url"] == f"https://mc.example.com/invite/{body['token']}"
    assert body["status"] == "pending" and body["role"] == "admin"

    listed = client.get(f"/api/v1/organizations/{org.pk}/invitations").json()["items"]
    assert [item["id"] for item in listed] == [body["id"]]
    assert "token" not in listed[0] and "url" not in listed[0]


def test_an_invitation_joins_whoever_accepts_it_once(client_for, owner, org, outsider):
    token = client_for(owner).post(f"/api/v1/organizations/{org.pk}/invitations", {}, format="json").json()["token"]
    joined = client_for(outsider).post("/api/v1/invitations/accept", {"token": token}, format="json")
    assert joined.status_code == 201, joined.content
    assert joined.json()["organization_id"] == str(org.pk) and joined.json()["role"] == "member"

    again = client_for(User.objects.create_user("late")).post("/api/v1/invitations/accept", {"token": token},
                                                              format="json")
    assert_refused(again, 410, "invitation_used")


@pytest.mark.parametrize(("state", "status", "code"), [
    ("expired", 410, "invitation_expired"),
    ("revoked", 410, "invitation_revoked"),
    ("tampered", 404, "invitation_not_found"),
])
def test_bad_invitation_links_are_json_refusals(client_for, owner, org, outsider, state, status, code):
    created = client_for(owner).post(f"/api/v1/organizations/{org.pk}/invitations", {}, format="json").json()
    token = created["token"]
    if state == "expired":
        Invitation.objects.filter(pk=created["id"]).update(expires_at=timezone.now() - timedelta(minutes=1))
    elif state == "revoked":
        assert client_for(owner).delete(f"/api/v1/organizations/{org.pk}/invitations/{created['id']}").status_code == 204
    else:
        token = token[:-2] + ("zz" if not token.endswith("zz") else "yy")

    assert_refused(client_for(outsider).post("/api/v1/invitations/accept", {"token": token}, format="json"), status,
                   code)
    assert not Membership.objects.filter(user=outsider, organization=org).exists()


def test_an_invitation_cannot_be_withdrawn_through_another_organization(client_for, owner, org, outsider, other_org):
    theirs = client_for(outsider).post(f"/api/v1/organizations/{other_org.pk}/invitations", {}, format="json").json()
    assert_refused(client_for(owner).delete(f"/api/v1/organizations/{org.pk}/invitations/{theirs['id']}"), 404,
                   "invitation_not_found")
    assert Invitation.objects.get(pk=theirs["id"]).revoked_at is None


def test_an_invitation_may_not_grant_a_board_of_another_organization(client_for, owner, org, other_board):
    response = client_for(owner).post(f"/api/v1/organizations/{org.pk}/invitations", {
        "all_boards_read": False, "all_boards_write": False,
        "boards": [{"board_id": str(other_board.pk), "can_write": True}]}, format="json")
    assert_refused(response, 422, "board_not_in_organization")


def test_a_limited_member_sees_only_the_boards_granted_through_the_api(client_for, owner, org, board, outsider):
    make_board(org, "Payroll")
    token = client_for(owner).post(f"/api/v1/organizations/{org.pk}/invitations", {
        "all_boards_read": False, "all_boards_write": False,
        "boards": [{"board_id": str(board.pk), "can_write": False}]}, format="json").json()["token"]
    client = client_for(outsider)
    assert client.post("/api/v1/invitations/accept", {"token": token}, format="json").status_code == 201

    names = [item["name"] for item in client.get("/api/v1/boards").json()["items"]]
    assert "Launch" in names and "Payroll" not in names
    assert_refused(client.post(f"/api/v1/boards/{board.pk}/tasks", {"title": "Nope"}, format="json"), 403,
                   "board_read_only")


def test_the_profile_is_read_and_changed(client_for, member, org):
    client = client_for(member)
    response = client.patch("/api/v1/users/me/profile", {"first_name": "Grace", "timezone": "Europe/Paris",
                                                          "active_organization_id": str(org.pk)}, format="json")
    assert response.status_code == 200, response.content
    assert client.get("/api/v1/users/me/profile").json() | {"id": None} == {
        "id": None, "username": "member", "email": None, "first_name": "Grace", "last_name": "",
        "timezone": "Europe/Paris", "active_organization_id": str(org.pk)}
    assert_refused(client.patch("/api/v1/users/me/profile", {"timezone": "Nowhere/Else"}, format="json"), 422,
                   "invalid_timezone")
    assert_refused(client.patch("/api/v1/users/me/profile", {"nickname": "G"}, format="json"), 422)


def test_the_shared_operator_token_still_acts_as_the_first_operator(api_client, settings):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.LOCAL_AUTH_TOKEN}")
    body = api_client.get("/api/v1/organizations").json()
    assert [item["role"] for item in body["items"]] == ["owner"]


@pytest.mark.usefixtures("fresh_keys", "clerk")
def test_a_clerk_user_joins_by_invitation_without_grant_role(monkeypatch, keys, client_for, owner, org, board):
    monkeypatch.setattr(PersonView, "authentication_classes", [ClerkJWTAuthentication, SessionAuthentication])
    token = client_for(owner).post(f"/api/v1/organizations/{org.pk}/invitations", {"role": "admin"},
                                   format="json").json()["token"]
    clerk = APIClient()
    clerk.credentials(HTTP_AUTHORIZATION=f"Bearer {session_token(keys['current'], sub='user_newcomer')}")
    assert clerk.get("/api/v1/boards").json()["items"] == []

    joined = clerk.post("/api/v1/invitations/accept", {"token": token}, format="json")

    assert joined.status_code == 201, joined.content
    user = User.objects.get(clerk_user_id="user_newcomer")
    assert Membership.objects.get(user=user, organization=org).role == "admin"
    assert [item["id"] for item in clerk.get("/api/v1/boards").json()["items"]] == [str(board.pk)]


def test_a_limited_member_sees_only_their_boards_in_a_group_snapshot(client_for, admin_user, member, org, board):
    from agents import rules
    from agents.models import BoardGroup

    group = BoardGroup.objects.create(organization=org, name="Web", slug="web")
    hidden = make_board(org, "Payroll", group=group)
    board.group = group
    board.save()
    rules.set_board_access(admin_user, Membership.objects.get(user=member), {
        "all_boards_read": False, "all_boards_write": False, "boards": [{"board_id": str(board.pk)}]})

    mine = client_for(member).get(f"/api/v1/board-groups/{group.pk}/snapshot").json()
    everything = client_for(admin_user).get(f"/api/v1/board-groups/{group.pk}/snapshot").json()

    assert [entry["board"]["id"] for entry in mine["boards"]] == [str(board.pk)]
    assert {entry["board"]["id"] for entry in everything["boards"]} == {str(board.pk), str(hidden.pk)}
