from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from agents import access, rules
from agents.api.base import object_on_board
from agents.http import PersonRequest
from agents.models import Approval
from agents.queries import approval_queryset
from agents.serializers import (
    ApprovalCreateSerializer,
    ApprovalResolveSerializer,
    ApprovalSerializer,
)
from missioncontrol.api.query import choices_schema, query_choices
from missioncontrol.api.schema import error_responses
from missioncontrol.api.views import PersonView, paginated, validated

TAGS = ["approvals"]


class ApprovalListView(PersonView):
    @extend_schema(operation_id="approvals_list", tags=TAGS, summary="Approvals of a board, newest first",
                   parameters=[OpenApiParameter("status", choices_schema(Approval.Status.values),
                                                description="One status or a comma list (pending,approved,rejected).")],
                   responses={200: ApprovalSerializer(many=True), **error_responses(401, 403, 404, 422)})
    def get(self, request: PersonRequest, board_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        approvals = Approval.objects.filter(board=board)
        statuses = query_choices(request, "status", Approval.Status.values)
        if statuses:
            approvals = approvals.filter(status__in=statuses)
        return paginated(request, approval_queryset(approvals).order_by("-created_at", "id"), ApprovalSerializer)

    @extend_schema(operation_id="approvals_create", tags=TAGS,
                   summary="Ask for an approval; it starts pending",
                   request=ApprovalCreateSerializer,
                   responses={201: ApprovalSerializer, **error_responses(401, 403, 404, 409, 422)})
    def post(self, request: PersonRequest, board_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        approval = rules.request_approval(request.user, board, validated(ApprovalCreateSerializer, request))
        return Response(ApprovalSerializer(approval_queryset().get(pk=approval.pk)).data,
                        status=status.HTTP_201_CREATED)


class ApprovalDetailView(PersonView):
    @extend_schema(operation_id="approvals_retrieve", tags=TAGS, summary="One approval",
                   responses={200: ApprovalSerializer, **error_responses(401, 403, 404)})
    def get(self, request: PersonRequest, board_id: UUID, approval_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        object_on_board(Approval, board, approval_id)
        return Response(ApprovalSerializer(approval_queryset().get(pk=approval_id)).data)

    @extend_schema(operation_id="approvals_resolve", tags=TAGS,
                   summary="Approve or reject a pending approval (people only)",
                   request=ApprovalResolveSerializer,
                   responses={200: ApprovalSerializer, **error_responses(401, 403, 404, 409, 422)})
    def patch(self, request: PersonRequest, board_id: UUID, approval_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        approval = object_on_board(Approval, board, approval_id)
        resolution = validated(ApprovalResolveSerializer, request)["status"]
        approval = rules.resolve_approval(request.user, approval, resolution)
        return Response(ApprovalSerializer(approval_queryset().get(pk=approval.pk)).data)
