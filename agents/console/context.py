"""What every console page's layout shows, whichever app renders it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from agents.console import workspace


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The pending-approval count and the organization switcher of the navigation, read
    only when a template shows them (fragments and signed-out pages never do), from one
    query the page's view may have made already (``agents.console.workspace``)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_pending_approvals": SimpleLazyObject(lambda: workspace.pending_approvals(request)),
            "nav_organizations": SimpleLazyObject(lambda: workspace.organizations(request)),
            "nav_scoped": SimpleLazyObject(lambda: workspace.working_organization(request) is not None)}
