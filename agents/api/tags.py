from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from agents import access, rules
from agents.http import PersonRequest
from agents.serializers import TagSerializer, TagUpdateSerializer, TagWriteSerializer
from missioncontrol.api.schema import NO_CONTENT, error_responses
from missioncontrol.api.views import PersonView, paginated, validated

TAGS = ["tags"]


class TagListView(PersonView):
    @extend_schema(operation_id="tags_list", tags=TAGS, summary="Tags of your organizations",
                   responses={200: TagSerializer(many=True), **error_responses(401, 403, 422)})
    def get(self, request: PersonRequest) -> Response:
        return paginated(request, access.visible_tags(request.user).order_by("name", "id"), TagSerializer)

    @extend_schema(operation_id="tags_create", tags=TAGS, summary="Create a tag (admins)", request=TagWriteSerializer,
                   responses={201: TagSerializer, **error_responses(401, 403, 404, 409, 422)})
    def post(self, request: PersonRequest) -> Response:
        data = validated(TagWriteSerializer, request)
        org = access.organization_for_create(request.user, data.pop("organization_id", None))
        tag = rules.create_tag(request.user, org, data)
        return Response(TagSerializer(tag).data, status=status.HTTP_201_CREATED)


class TagDetailView(PersonView):
    @extend_schema(operation_id="tags_retrieve", tags=TAGS, summary="One tag",
                   responses={200: TagSerializer, **error_responses(401, 403, 404)})
    def get(self, request: PersonRequest, tag_id: UUID) -> Response:
        return Response(TagSerializer(access.get_tag_for(request.user, tag_id)).data)

    @extend_schema(operation_id="tags_update", tags=TAGS, summary="Change a tag (admins)", request=TagUpdateSerializer,
                   responses={200: TagSerializer, **error_responses(401, 403, 404, 409, 422)})
    def patch(self, request: PersonRequest, tag_id: UUID) -> Response:
        tag = access.get_tag_for(request.user, tag_id)
        tag = rules.update_tag(request.user, tag, validated(TagUpdateSerializer, request))
        return Response(TagSerializer(tag).data)

    @extend_schema(operation_id="tags_destroy", tags=TAGS, summary="Delete a tag (admins)",
                   responses={**NO_CONTENT, **error_responses(401, 403, 404)})
    def delete(self, request: PersonRequest, tag_id: UUID) -> Response:
        rules.delete_tag(request.user, access.get_tag_for(request.user, tag_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
