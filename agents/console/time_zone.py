"""Console pages in the signed-in person's own time zone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import lru_cache

from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from ops.lean_paths import is_lean_path

# The API promises ISO 8601 in UTC whoever calls it, so it keeps the default zone.
API_PREFIX = "/api/"


@lru_cache(maxsize=64)
def zone_named(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone of an IANA name, or None for an empty or unknown one (the profile refuses
    unknown names, but a row written before that rule, or a zone the system's database
    dropped, must not break every page)."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class PersonTimeZoneMiddleware:
    """Activates the signed-in person's ``User.timezone`` while a console page renders, so
    every date and time a template shows is in their zone (empty means UTC, the
    installation's ``TIME_ZONE``). Agent routes, probes and the user API are left in UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if is_lean_path(request) or request.path.startswith(API_PREFIX):
            return self.get_response(request)
        user = getattr(request, "user", None)
        zone = zone_named(user.timezone) if user is not None and user.is_authenticated else None
        if zone is None:
            return self.get_response(request)
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
