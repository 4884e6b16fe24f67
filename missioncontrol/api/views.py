"""What every view of the user API shares: who may call it, paging, reading the body."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from rest_framework import permissions, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from missioncontrol.api.pagination import LimitOffsetEnvelopePagination


class IsPerson(permissions.BasePermission):
    """The user API is for people; agents have their own routes under /api/v1/agent/."""

    message = "This route is for people. Agents use the routes under /api/v1/agent/."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.user, get_user_model()) and request.user.is_authenticated


class PersonView(APIView):
    permission_classes = [IsPerson]
    # Read by ``paginated`` and by the schema generator, which wraps list answers in the envelope.
    pagination_class = LimitOffsetEnvelopePagination


def paginated(request: Request, queryset: QuerySet[Any], serializer_class: type[serializers.BaseSerializer[Any]],
              **context: Any) -> Response:
    paginator = LimitOffsetEnvelopePagination()
    page = paginator.paginate_queryset(queryset, request)
    data = serializer_class(page, many=True, context={"request": request, **context}).data
    return paginator.get_paginated_response(data)


def validated(serializer_class: type[serializers.Serializer[Any]], request: Request, data: Any = None,
              **kwargs: Any) -> dict[str, Any]:
    """The request body (or ``data``) checked by ``serializer_class``; problems are 422 with field errors."""
    if data is None:
        data = request.data
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    serializer = serializer_class(data=data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
