"""Organizations, their members and invitations, and the caller's own profile (people only).

Every change goes through ``agents.rules.people``, as the console's do.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from agents import access, queries, rules
from agents.http import PersonRequest
from agents.models import Invitation
from agents.serializers import (
    BoardReachWriteSerializer,
    InvitationAcceptSerializer,
    InvitationCreatedSerializer,
    InvitationSerializer,
    InvitationWriteSerializer,
    MemberSerializer,
    MemberUpdateSerializer,
    OrganizationSerializer,
    OrganizationUpdateSerializer,
    OrganizationWriteSerializer,
    ProfileSerializer,
    ProfileUpdateSerializer,
    TransferOwnershipSerializer,
)
from missioncontrol.api.schema import NO_CONTENT, error_responses
from missioncontrol.api.views import PersonView, paginated, validated

ORGANIZATIONS = ["organizations"]
USERS = ["users"]


def _reach(data: dict[str, Any]) -> dict[str, Any]:
    """The serializer's board grants as the rule reads them (ids as given, flags as booleans)."""
    if "boards" in data:
        data["boards"] = [{"board_id": entry["board_id"], "can_write": entry["can_write"]} for entry in data["boards"]]
    return data


def invitation_url(token: str) -> str:
    return settings.BASE_URL.rstrip("/") + reverse("console:invitation", args=[token])


def _reload(org_id: Any, request: PersonRequest) -> Any:
    return access.get_organization_for(request.user, org_id)


class OrganizationListView(PersonView):
    @extend_schema(operation_id="organizations_list", tags=ORGANIZATIONS, summary="Your organizations, with your role",
                   responses={200: OrganizationSerializer(many=True), **error_responses(401, 403, 422)})
    def get(self, request: PersonRequest) -> Response:
        orgs = access.organizations_with_role(request.user).order_by("name", "id")
        return paginated(request, orgs, OrganizationSerializer)

    @extend_schema(operation_id="organizations_create", tags=ORGANIZATIONS,
                   summary="Create an organization (you become its owner)", request=OrganizationWriteSerializer,
                   responses={201: OrganizationSerializer, **error_responses(401, 403, 409, 422)})
    def post(self, request: PersonRequest) -> Response:
        org = rules.create_organization(request.user, validated(OrganizationWriteSerializer, request))
        return Response(OrganizationSerializer(_reload(org.pk, request)).data, status=status.HTTP_201_CREATED)


class OrganizationDetailView(PersonView):
    @extend_schema(operation_id="organizations_retrieve", tags=ORGANIZATIONS, summary="One of your organizations",
                   responses={200: OrganizationSerializer, **error_responses(401, 403, 404)})
    def get(self, request: PersonRequest, organization_id: UUID) -> Response:
        return Response(OrganizationSerializer(access.get_organization_for(request.user, organization_id)).data)

    @extend_schema(operation_id="organizations_update", tags=ORGANIZATIONS, summary="Rename an organization (admins)",
                   request=OrganizationUpdateSerializer,
                   responses={200: OrganizationSerializer, **error_responses(401, 403, 404, 422)})
    def patch(self, request: PersonRequest, organization_id: UUID) -> Response:
        org = access.get_organization_for(request.user, organization_id)
        rules.update_organization(request.user, org, validated(OrganizationUpdateSerializer, request))
        return Response(OrganizationSerializer(org).data)


class OrganizationLeaveView(PersonView):
    @extend_schema(operation_id="organizations_leave", tags=ORGANIZATIONS,
                   summary="Leave an organization (not as its last owner)", request=None,
                   responses={**NO_CONTENT, **error_responses(401, 403, 404, 409)})
    def post(self, request: PersonRequest, organization_id: UUID) -> Response:
        rules.leave_organization(request.user, access.get_organization_for(request.user, organization_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrganizationTransferView(PersonView):
    @extend_schema(operation_id="organizations_transfer_ownership", tags=ORGANIZATIONS,
                   summary="Hand ownership to another member (owners); you stay on as an admin",
                   request=TransferOwnershipSerializer,
                   responses={200: MemberSerializer, **error_responses(401, 403, 404, 409, 422)})
    def post(self, request: PersonRequest, organization_id: UUID) -> Response:
        org = access.get_organization_for(request.user, organization_id)
        target = access.member_of(org, validated(TransferOwnershipSerializer, request)["membership_id"])
        rules.transfer_ownership(request.user, org, target)
        return Response(MemberSerializer(queries.member_queryset(org.pk).get(pk=target.pk)).data)


class MemberListView(PersonView):
    @extend_schema(operation_id="organizations_members_list", tags=ORGANIZATIONS,
                   summary="Members of an organization, with their roles and board access",
                   responses={200: MemberSerializer(many=True), **error_responses(401, 403, 404, 422)})
    def get(self, request: PersonRequest, organization_id: UUID) -> Response:
        org = access.get_organization_for(request.user, organization_id)
        return paginated(request, queries.member_queryset(org.pk), MemberSerializer)


class MemberDetailView(PersonView):
    @extend_schema(operation_id="organizations_members_retrieve", tags=ORGANIZATIONS, summary="One member",
                   responses={200: MemberSerializer, **error_responses(401, 403, 404)})
    def get(self, request: PersonRequest, organization_id: UUID, membership_id: UUID) -> Response:
        org = access.get_organization_for(request.user, organization_id)
        member = access.member_of(org, membership_id)
        return Response(MemberSerializer(queries.member_queryset(org.pk).get(pk=member.pk)).data)

    @extend_schema(operation_id="organizations_members_update", tags=ORGANIZATIONS,
                   summary="Change a member's role (admins; owners for owners)", request=MemberUpdateSerializer,
                   responses={200: MemberSerializer, **error_responses(401, 403, 404, 409, 422)})
    def patch(self, request: PersonRequest, organization_id: UUID, membership_id: UUID) -> Response:
        org = access.get_organization_for(request.user, organization_id)
        member = access.member_of(org, membership_id)
        rules.change_member_role(request.user, member, validated(MemberUpdateSerializer, request)["role"])
        return Response(MemberSerializer(queries.member_queryset(org.pk).get(pk=member.pk)).data)

    @extend_schema(operation_id="organizations_members_destroy", tags=ORGANIZATIONS,
                   summary="Remove a member (admins; owners for owners; never the last owner)",
                   responses={**NO_CONTENT, **error_responses(401, 403, 404, 409)})
    def delete(self, request: PersonRequest, organization_id: UUID, membership_id: UUID) -> Response:
        org = access.get_organization_for(request.user, organization_id)
        rules.remove_member(request.user, access.member_of(org, membership_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberBoardAccessView(PersonView):
    @extend_schema(operation_id="organizations_members_board_access", tags=ORGANIZATIONS,
                   summary="Set which boards a member reaches (admins)", request=BoardReachWriteSerializer,
                   responses={200: MemberSerializer, **error_responses(401, 403, 404, 422)})
    def put(self, request: PersonRequest, organization_id: UUID, membership_id: UUID) -> Response:
        org = access.get_organization_for(request.user, organization_id)
        member = access.member_of(org, membership_id)
        rules.set_board_access(request.user, member, _reach(validated(BoardReachWriteSerializer, request)))
        return Response(MemberSerializer(queries.member_queryset(org.pk).get(pk=member.pk)).data)


class InvitationListView(PersonView):
    @extend_schema(operation_id="organizations_invitations_list", tags=ORGANIZATIONS,
                   summary="Invitations of an organization (admins)",
                   responses={200: InvitationSerializer(many=True), **error_responses(401, 403, 404, 422)})
    def get(self, request: PersonRequest, organization_id: UUID) -> Response:
        org = access.get_organization_for(request.user, organization_id)
        access.require_admin(request.user, org)
        return paginated(request, Invitation.objects.filter(organization=org).order_by("-created_at", "id"),
                         InvitationSerializer)

    @extend_schema(operation_id="organizations_invitations_create", tags=ORGANIZATIONS,
                   summary="Invite someone by link (admins); the link is shown once",
                   request=InvitationWriteSerializer,
                   responses={201: InvitationCreatedSerializer, **error_responses(401, 403, 404, 422)})
    def post(self, request: PersonRequest, organization_id: UUID) -> Response:
        org = access.get_organization_for(request.user, organization_id)
        invitation, token = rules.create_invitation(request.user, org,
                                                    _reach(validated(InvitationWriteSerializer, request)))
        invitation.token, invitation.url = token, invitation_url(token)  # type: ignore[attr-defined]  # shown once, never stored
        return Response(InvitationCreatedSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationDetailView(PersonView):
    @extend_schema(operation_id="organizations_invitations_revoke", tags=ORGANIZATIONS,
                   summary="Withdraw a pending invitation (admins); its link stops working",
                   responses={**NO_CONTENT, **error_responses(401, 403, 404, 409)})
    def delete(self, request: PersonRequest, organization_id: UUID, invitation_id: UUID) -> Response:
        org = access.get_organization_for(request.user, organization_id)
        access.require_admin(request.user, org)
        rules.revoke_invitation(request.user, access.invitation_of(org, invitation_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationAcceptView(PersonView):
    @extend_schema(operation_id="invitations_accept", tags=ORGANIZATIONS,
                   summary="Accept an invitation: you become a member of its organization",
                   request=InvitationAcceptSerializer,
                   responses={201: MemberSerializer, **error_responses(401, 403, 404, 409, 410, 422)})
    def post(self, request: PersonRequest) -> Response:
        membership = rules.accept_invitation(request.user, validated(InvitationAcceptSerializer, request)["token"])
        member = queries.member_queryset(membership.organization_id).get(pk=membership.pk)
        return Response(MemberSerializer(member).data, status=status.HTTP_201_CREATED)


class ProfileView(PersonView):
    @extend_schema(operation_id="users_me_profile", tags=USERS, summary="Your profile",
                   responses={200: ProfileSerializer, **error_responses(401, 403)})
    def get(self, request: PersonRequest) -> Response:
        return Response(ProfileSerializer(request.user).data)

    @extend_schema(operation_id="users_me_profile_update", tags=USERS,
                   summary="Change your name, time zone or the organization you work in",
                   request=ProfileUpdateSerializer,
                   responses={200: ProfileSerializer, **error_responses(401, 403, 404, 422)})
    def patch(self, request: PersonRequest) -> Response:
        user = rules.update_profile(request.user, validated(ProfileUpdateSerializer, request))
        return Response(ProfileSerializer(user).data)
