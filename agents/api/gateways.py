from __future__ import annotations

from uuid import UUID

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from agents import access, activity
from agents.api.base import PersonView, apply_changes, organization_for_create, paginated, validated
from agents.models import Gateway
from agents.serializers import GatewaySerializer, GatewayUpdateSerializer, GatewayWriteSerializer
from missioncontrol.api.schema import NO_CONTENT, error_responses

TAGS = ["gateways"]


class GatewayListView(PersonView):
    @extend_schema(operation_id="gateways_list", tags=TAGS, summary="Gateways of your organizations",
                   responses={200: GatewaySerializer(many=True), **error_responses(401, 403, 422)})
    def get(self, request: Request) -> Response:
        return paginated(request, access.visible_gateways(request.user).order_by("name", "id"), GatewaySerializer)

    @extend_schema(operation_id="gateways_create", tags=TAGS, summary="Register a gateway (admins)",
                   request=GatewayWriteSerializer,
                   responses={201: GatewaySerializer, **error_responses(401, 403, 404, 422)})
    def post(self, request: Request) -> Response:
        data = validated(GatewayWriteSerializer, request)
        org = organization_for_create(request.user, data.pop("organization_id", None))
        with transaction.atomic():
            gateway = Gateway.objects.create(organization=org, **data)
            activity.record("gateway.created", actor=request.user, organization=org,
                            message=f"Gateway {gateway.name} registered", data={"gateway_id": str(gateway.pk)})
        return Response(GatewaySerializer(gateway).data, status=status.HTTP_201_CREATED)


class GatewayDetailView(PersonView):
    @extend_schema(operation_id="gateways_retrieve", tags=TAGS, summary="One gateway",
                   responses={200: GatewaySerializer, **error_responses(401, 403, 404)})
    def get(self, request: Request, gateway_id: UUID) -> Response:
        return Response(GatewaySerializer(access.get_gateway_for(request.user, gateway_id)).data)

    @extend_schema(operation_id="gateways_update", tags=TAGS, summary="Change a gateway (admins)",
                   request=GatewayUpdateSerializer,
                   responses={200: GatewaySerializer, **error_responses(401, 403, 404, 422)})
    def patch(self, request: Request, gateway_id: UUID) -> Response:
        gateway = access.get_gateway_for(request.user, gateway_id, admin=True)
        data = validated(GatewayUpdateSerializer, request)
        changed = apply_changes(gateway, data)
        with transaction.atomic():
            gateway.save()
            activity.record("gateway.updated", actor=request.user, organization=gateway.organization_id,
                            message=f"Gateway {gateway.name} changed",
                            data={"gateway_id": str(gateway.pk), "fields": changed})
        return Response(GatewaySerializer(gateway).data)

    @extend_schema(operation_id="gateways_destroy", tags=TAGS, summary="Remove a gateway (admins)",
                   responses={**NO_CONTENT, **error_responses(401, 403, 404)})
    def delete(self, request: Request, gateway_id: UUID) -> Response:
        gateway = access.get_gateway_for(request.user, gateway_id, admin=True)
        with transaction.atomic():
            activity.record("gateway.deleted", actor=request.user, organization=gateway.organization_id,
                            message=f"Gateway {gateway.name} removed", data={"gateway_id": str(gateway.pk)})
            gateway.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
