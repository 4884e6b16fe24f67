"""Reading ids from the outside world, and finding the object they name.

Every interface (the two APIs, the console, the webhook views) takes ids from paths,
query strings and bodies; a malformed id is as unknown as a missing one, so both end in
the same answer.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Model, QuerySet
from django.http import Http404


def parse_uuid(value: Any) -> uuid.UUID | None:
    """``value`` as a UUID, or None when it is empty or not a UUID."""
    if isinstance(value, uuid.UUID):
        return value
    if value is None or value == "":
        return None
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def first_or_none[M: Model](queryset: QuerySet[M], object_id: Any) -> M | None:
    """The object of ``queryset`` with primary key ``object_id``; None when there is none
    or the id is malformed."""
    pk = parse_uuid(object_id)
    return queryset.filter(pk=pk).first() if pk is not None else None


def get_or_404[M: Model](queryset: QuerySet[M], object_id: Any) -> M:
    """Like :func:`first_or_none`, raising ``Http404`` instead of answering None."""
    obj = first_or_none(queryset, object_id)
    if obj is None:
        raise Http404
    return obj
