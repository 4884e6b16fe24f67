"""Custom fields of the user API: an organization's typed task fields and the boards they are on."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from agents import access, rules
from agents.http import PersonRequest
from agents.queries import custom_field_queryset
from agents.serializers import (
    CustomFieldSerializer,
    CustomFieldUpdateSerializer,
    CustomFieldWriteSerializer,
)
from missioncontrol.api.query import query_uuid
from missioncontrol.api.schema import NO_CONTENT, error_responses
from missioncontrol.api.views import PersonView, paginated, validated

TAGS = ["custom-fields"]


class CustomFieldListView(PersonView):
    @extend_schema(operation_id="custom_fields_list", tags=TAGS, summary="Custom fields of your organizations",
                   parameters=[OpenApiParameter("board_id", OpenApiTypes.UUID,
                                                description="Only the fields attached to this board.")],
                   responses={200: CustomFieldSerializer(many=True), **error_responses(401, 403, 422)})
    def get(self, request: PersonRequest) -> Response:
        definitions = access.visible_custom_fields(request.user)
        board_id = query_uuid(request, "board_id")
        if board_id is not None:
            definitions = definitions.filter(boards__id=board_id)
        return paginated(request, custom_field_queryset(definitions).order_by("label", "id"), CustomFieldSerializer)

    @extend_schema(operation_id="custom_fields_create", tags=TAGS, summary="Create a custom field (admins)",
                   request=CustomFieldWriteSerializer,
                   responses={201: CustomFieldSerializer, **error_responses(401, 403, 404, 409, 422)})
    def post(self, request: PersonRequest) -> Response:
        data = validated(CustomFieldWriteSerializer, request)
        org = access.organization_for_create(request.user, data.pop("organization_id", None))
        definition = rules.create_custom_field(request.user, org, data)
        return Response(CustomFieldSerializer(definition).data, status=status.HTTP_201_CREATED)


class CustomFieldDetailView(PersonView):
    @extend_schema(operation_id="custom_fields_retrieve", tags=TAGS, summary="One custom field",
                   responses={200: CustomFieldSerializer, **error_responses(401, 403, 404)})
    def get(self, request: PersonRequest, field_id: UUID) -> Response:
        return Response(CustomFieldSerializer(access.get_custom_field_for(request.user, field_id)).data)

    @extend_schema(operation_id="custom_fields_update", tags=TAGS,
                   summary="Change a custom field or the boards it is on (admins)",
                   request=CustomFieldUpdateSerializer,
                   responses={200: CustomFieldSerializer, **error_responses(401, 403, 404, 409, 422)})
    def patch(self, request: PersonRequest, field_id: UUID) -> Response:
        definition = access.get_custom_field_for(request.user, field_id)
        definition = rules.update_custom_field(request.user, definition,
                                               validated(CustomFieldUpdateSerializer, request))
        return Response(CustomFieldSerializer(definition).data)

    @extend_schema(operation_id="custom_fields_destroy", tags=TAGS,
                   summary="Delete a custom field and its values on tasks (admins)",
                   responses={**NO_CONTENT, **error_responses(401, 403, 404)})
    def delete(self, request: PersonRequest, field_id: UUID) -> Response:
        rules.delete_custom_field(request.user, access.get_custom_field_for(request.user, field_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
