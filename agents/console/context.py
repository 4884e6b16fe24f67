"""What every console page's layout shows, whichever app renders it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from agents import access
from agents.models import Approval


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The pending-approval count and the organization switcher of the navigation, read
    only when a template shows them (fragments and signed-out pages never do)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count() -> int:
        return Approval.objects.filter(board__in=access.visible_boards(user), status=Approval.Status.PENDING).count()

    def switcher() -> list[Any]:
        orgs = list(access.organizations_with_role(user).order_by("name", "id"))
        active = next((org for org in orgs if org.pk == user.active_organization_id), orgs[0] if orgs else None)
        for org in orgs:
            org.is_active = org is active  # type: ignore[attr-defined]  # a display flag for the template only
        return orgs

    return {"nav_pending_approvals": SimpleLazyObject(count), "nav_organizations": SimpleLazyObject(switcher)}
