from __future__ import annotations

from uuid import UUID

from django.db import transaction
from django.utils.text import slugify
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from agents import access, activity
from agents.api.base import (
    PersonView,
    apply_changes,
    organization_for_create,
    paginated,
    save_unique,
    validated,
)
from agents.models import Tag
from agents.serializers import TagSerializer, TagUpdateSerializer, TagWriteSerializer
from missioncontrol.api.schema import NO_CONTENT, error_responses

TAGS = ["tags"]
SLUG_TAKEN = ("tag_slug_taken", "Another tag of this organization already uses that slug.")


class TagListView(PersonView):
    @extend_schema(operation_id="tags_list", tags=TAGS, summary="Tags of your organizations",
                   responses={200: TagSerializer(many=True), **error_responses(401, 403, 422)})
    def get(self, request: Request) -> Response:
        return paginated(request, access.visible_tags(request.user).order_by("name", "id"), TagSerializer)

    @extend_schema(operation_id="tags_create", tags=TAGS, summary="Create a tag (admins)", request=TagWriteSerializer,
                   responses={201: TagSerializer, **error_responses(401, 403, 404, 409, 422)})
    def post(self, request: Request) -> Response:
        data = validated(TagWriteSerializer, request)
        org = organization_for_create(request.user, data.pop("organization_id", None))
        data.setdefault("slug", slugify(data["name"])[:100] or "tag")

        def create() -> Tag:
            tag = Tag.objects.create(organization=org, **data)
            activity.record("tag.created", actor=request.user, organization=org, message=f"Tag {tag.name} created",
                            data={"tag_id": str(tag.pk)})
            return tag

        tag = save_unique(*SLUG_TAKEN, create)
        return Response(TagSerializer(tag).data, status=status.HTTP_201_CREATED)


class TagDetailView(PersonView):
    @extend_schema(operation_id="tags_retrieve", tags=TAGS, summary="One tag",
                   responses={200: TagSerializer, **error_responses(401, 403, 404)})
    def get(self, request: Request, tag_id: UUID) -> Response:
        return Response(TagSerializer(access.get_tag_for(request.user, tag_id)).data)

    @extend_schema(operation_id="tags_update", tags=TAGS, summary="Change a tag (admins)", request=TagUpdateSerializer,
                   responses={200: TagSerializer, **error_responses(401, 403, 404, 409, 422)})
    def patch(self, request: Request, tag_id: UUID) -> Response:
        tag = access.get_tag_for(request.user, tag_id, admin=True)
        changed = apply_changes(tag, validated(TagUpdateSerializer, request))

        def save() -> None:
            tag.save()
            activity.record("tag.updated", actor=request.user, organization=tag.organization_id,
                            message=f"Tag {tag.name} changed", data={"tag_id": str(tag.pk), "fields": changed})

        save_unique(*SLUG_TAKEN, save)
        return Response(TagSerializer(tag).data)

    @extend_schema(operation_id="tags_destroy", tags=TAGS, summary="Delete a tag (admins)",
                   responses={**NO_CONTENT, **error_responses(401, 403, 404)})
    def delete(self, request: Request, tag_id: UUID) -> Response:
        tag = access.get_tag_for(request.user, tag_id, admin=True)
        with transaction.atomic():
            activity.record("tag.deleted", actor=request.user, organization=tag.organization_id,
                            message=f"Tag {tag.name} deleted", data={"tag_id": str(tag.pk)})
            tag.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
