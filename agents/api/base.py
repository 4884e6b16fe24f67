"""What every view of the user API shares: who may call it, paging, query-string filters."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework import permissions, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import access
from agents.models import Board, Organization, User
from agents.refusals import RuleViolation
from missioncontrol.api.pagination import LimitOffsetEnvelopePagination


class IsPerson(permissions.BasePermission):
    """The user API is for people; agents have their own routes under /api/v1/agent/."""

    message = "This route is for people. Agents use the routes under /api/v1/agent/."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.user, User) and request.user.is_authenticated


class PersonView(APIView):
    permission_classes = [IsPerson]
    # Read by ``paginated`` and by the schema generator, which wraps list answers in the envelope.
    pagination_class = LimitOffsetEnvelopePagination


def paginated(request: Request, queryset: QuerySet[Any], serializer_class: type[serializers.BaseSerializer],
              **context: Any) -> Response:
    paginator = LimitOffsetEnvelopePagination()
    page = paginator.paginate_queryset(queryset, request)
    data = serializer_class(page, many=True, context={"request": request, **context}).data
    return paginator.get_paginated_response(data)


def validated(serializer_class: type[serializers.Serializer], request: Request, data: Any = None,
              **kwargs: Any) -> dict[str, Any]:
    """The request body (or ``data``) checked by ``serializer_class``; problems are 422 with field errors."""
    if data is None:
        data = request.data
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    serializer = serializer_class(data=data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def query_uuid(request: Request, name: str) -> uuid.UUID | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise ValidationError({name: [f"{name} must be a UUID."]}) from exc


def query_bool(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise ValidationError({name: [f"{name} must be true or false."]})


def query_choices(request: Request, name: str, allowed: Iterable[str]) -> list[str] | None:
    """A comma list of values from ``allowed``; any other value is 422."""
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return None
    allowed = list(allowed)
    values = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ValidationError({name: [f"Unknown {name}: {', '.join(unknown)}. Use {', '.join(allowed)}."]})
    return values


def organization_for_create(user: User, organization_id: uuid.UUID | None) -> Organization:
    """The organization a new object goes into: the one named, or the caller's only one.

    Not a member: 404. A member without an admin role: 403."""
    if organization_id is not None:
        org = access.organizations(user).filter(pk=organization_id).first()
        if org is None:
            raise RuleViolation(404, "organization_not_found", "No such organization.")
    else:
        orgs = list(access.organizations(user)[:2])
        if not orgs:
            raise RuleViolation(403, "no_organization", "You are not a member of any organization.")
        if len(orgs) > 1:
            raise ValidationError({"organization_id": ["You belong to several organizations: name one."]})
        org = orgs[0]
    access.require_admin(user, org)
    return org


def save_unique(conflict_code: str, message: str, save: Any) -> Any:
    """Runs ``save`` and turns a unique-constraint failure into a 409 naming the rule."""
    try:
        with transaction.atomic():
            return save()
    except IntegrityError as exc:
        raise RuleViolation(409, conflict_code, message) from exc


def apply_changes(obj: Any, data: dict[str, Any]) -> list[str]:
    """Sets the given fields; returns their names for the activity record (never the values,
    which may be secrets)."""
    for name, value in data.items():
        setattr(obj, name, value)
    return sorted(data)


def object_on_board[M: Model](model: type[M], board: Board, object_id: Any) -> M:
    """An object of ``board`` (a task, an approval...); anything else is 404."""
    obj = model.objects.filter(board=board, pk=object_id).first()  # type: ignore[attr-defined]
    if obj is None:
        raise Http404
    obj.board = board  # already loaded and checked; saves a query per use
    return obj
