"""The organization the console works in.

A person in several organizations picks one with the switcher of the navigation
(``User.active_organization``); the dashboard, boards, agents, approvals and activity
pages then show that organization's objects only. Until they pick one (or after they pick
*All organizations*, or leave the one they had picked) the lists show every organization
of theirs, as they always did; so does everything for a person in one organization. Pages of one object (a board, a task, an agent) stay reachable by link
whichever organization is chosen: the choice narrows lists, it is not a permission.

The person's organizations are read once per request, in the query that also counts the
pending approvals the navigation shows, and the views share that list with the layout.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from agents import access
from agents.models import Approval, Organization

_CACHE_ATTRIBUTE = "_console_organizations"


def organizations(request: HttpRequest) -> list[Organization]:
    """The person's organizations by name, each with ``caller_role``, ``pending_approvals``
    (on the boards they may read) and ``is_active`` (the one they chose, if still a member)."""
    cached: list[Organization] | None = getattr(request, _CACHE_ATTRIBUTE, None)
    if cached is not None:
        return cached
    user: Any = request.user
    pending = (Approval.objects.filter(board__in=access.visible_boards(user), status=Approval.Status.PENDING,
                                       board__organization_id=OuterRef("pk"))
               .order_by().values("board__organization_id").annotate(n=Count("pk")).values("n"))
    found: list[Organization] = list(access.organizations_with_role(user).annotate(pending_approvals=Coalesce(Subquery(pending), 0))
                 .order_by("name", "id"))
    for org in found:
        # Read by the switcher and by working_organization.
        org.is_active = org.pk == user.active_organization_id  # type: ignore[attr-defined]
    setattr(request, _CACHE_ATTRIBUTE, found)
    return found


def forget(request: HttpRequest) -> None:
    """Drop the list read for this request (after the person switched organization)."""
    if hasattr(request, _CACHE_ATTRIBUTE):
        delattr(request, _CACHE_ATTRIBUTE)


def working_organization(request: HttpRequest) -> Organization | None:
    """The organization lists are narrowed to, or None: they show all of the person's (one,
    or several when none is chosen)."""
    found = organizations(request)
    if len(found) < 2:
        return None
    return next((org for org in found if org.is_active), None)  # type: ignore[attr-defined]


def organization_ids(request: HttpRequest) -> list[uuid.UUID]:
    """The ids of the organizations the lists show: the working one, or all of the person's."""
    working = working_organization(request)
    return [working.pk] if working is not None else [org.pk for org in organizations(request)]


def narrow[M: Any](request: HttpRequest, queryset: QuerySet[M], field: str = "organization_id") -> QuerySet[M]:
    """``queryset`` limited to the working organization (unchanged for a person in one)."""
    working = working_organization(request)
    return queryset.filter(**{field: working.pk}) if working is not None else queryset


def pending_approvals(request: HttpRequest) -> int:
    """The navigation's count: pending approvals of the organizations the lists show."""
    working = working_organization(request)
    if working is not None:
        return int(working.pending_approvals)  # type: ignore[attr-defined]
    total = 0
    for org in organizations(request):
        total += int(org.pending_approvals)  # type: ignore[attr-defined]
    return total
