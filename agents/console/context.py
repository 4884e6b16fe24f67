"""What every console page's layout shows, whichever app renders it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from agents import access
from agents.models import Approval


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The pending-approval count of the navigation, counted only when a template shows it
    (fragments and signed-out pages never do)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count() -> int:
        return Approval.objects.filter(board__in=access.visible_boards(user), status=Approval.Status.PENDING).count()

    return {"nav_pending_approvals": SimpleLazyObject(count)}
