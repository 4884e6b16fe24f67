from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from agents import access, rules
from agents.http import PersonRequest
from agents.serializers import GatewaySerializer, GatewayUpdateSerializer, GatewayWriteSerializer
from missioncontrol.api.schema import NO_CONTENT, error_responses
from missioncontrol.api.views import PersonView, paginated, validated

TAGS = ["gateways"]


class GatewayListView(PersonView):
    @extend_schema(operation_id="gateways_list", tags=TAGS, summary="Gateways of your organizations",
                   responses={200: GatewaySerializer(many=True), **error_responses(401, 403, 422)})
    def get(self, request: PersonRequest) -> Response:
        return paginated(request, access.visible_gateways(request.user).order_by("name", "id"), GatewaySerializer)

    @extend_schema(operation_id="gateways_create", tags=TAGS, summary="Register a gateway (admins)",
                   request=GatewayWriteSerializer,
                   responses={201: GatewaySerializer, **error_responses(401, 403, 404, 422)})
    def post(self, request: PersonRequest) -> Response:
        data = validated(GatewayWriteSerializer, request)
        org = access.organization_for_create(request.user, data.pop("organization_id", None))
        gateway = rules.create_gateway(request.user, org, data)
        return Response(GatewaySerializer(gateway).data, status=status.HTTP_201_CREATED)


class GatewayDetailView(PersonView):
    @extend_schema(operation_id="gateways_retrieve", tags=TAGS, summary="One gateway",
                   responses={200: GatewaySerializer, **error_responses(401, 403, 404)})
    def get(self, request: PersonRequest, gateway_id: UUID) -> Response:
        return Response(GatewaySerializer(access.get_gateway_for(request.user, gateway_id)).data)

    @extend_schema(operation_id="gateways_update", tags=TAGS, summary="Change a gateway (admins)",
                   request=GatewayUpdateSerializer,
                   responses={200: GatewaySerializer, **error_responses(401, 403, 404, 422)})
    def patch(self, request: PersonRequest, gateway_id: UUID) -> Response:
        gateway = access.get_gateway_for(request.user, gateway_id)
        gateway = rules.update_gateway(request.user, gateway, validated(GatewayUpdateSerializer, request))
        return Response(GatewaySerializer(gateway).data)

    @extend_schema(operation_id="gateways_destroy", tags=TAGS, summary="Remove a gateway (admins)",
                   responses={**NO_CONTENT, **error_responses(401, 403, 404)})
    def delete(self, request: PersonRequest, gateway_id: UUID) -> Response:
        rules.delete_gateway(request.user, access.get_gateway_for(request.user, gateway_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class GatewayCheckView(PersonView):
    @extend_schema(operation_id="gateways_check", tags=TAGS, request=None,
                   summary="Check a gateway again (admins): the staged check runs in the worker",
                   description="Answers 202 with the gateway, its check `status` `checking`; read the gateway again "
                               "for the stages (resolve, tcp, tls, upgrade, challenge, connect, read, features, "
                               "version), each with its time, and the first failing one named with the likely fix.",
                   responses={202: GatewaySerializer, **error_responses(401, 403, 404)})
    def post(self, request: PersonRequest, gateway_id: UUID) -> Response:
        gateway = rules.request_check(request.user, access.get_gateway_for(request.user, gateway_id))
        return Response(GatewaySerializer(gateway).data, status=status.HTTP_202_ACCEPTED)


class GatewaySyncView(PersonView):
    @extend_schema(operation_id="gateways_sync", tags=TAGS, request=None,
                   summary="Sync templates (admins): every agent of the gateway gets its config and files again",
                   description="Runs in the worker; an entry or a file that already matches is left alone, so a "
                               "sync that changes nothing sends no config.patch. `synced_at` moves when it is done.",
                   responses={202: GatewaySerializer, **error_responses(401, 403, 404)})
    def post(self, request: PersonRequest, gateway_id: UUID) -> Response:
        gateway = rules.request_sync(request.user, access.get_gateway_for(request.user, gateway_id))
        return Response(GatewaySerializer(gateway).data, status=status.HTTP_202_ACCEPTED)
