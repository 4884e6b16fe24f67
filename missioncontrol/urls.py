"""Root URLs: probes, the OpenAPI document, the REST API and the console."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView

urlpatterns = [
    path("", include("ops.urls")),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    # Webhook ingest and configuration share paths under /api/v1/boards/; matched before the user API.
    path("", include("webhooks.urls")),
    # Before any other /api/v1/ include: agent routes must not be shadowed by user routes.
    path("api/v1/agent/", include("agents.agent_api.urls")),
    # Two heartbeat paths of older agent workspaces live under the user API's prefix.
    path("api/v1/", include("agents.agent_api.legacy_urls")),
    # A board's group, as the earlier server's workspace files name its routes: agents and people.
    path("api/v1/", include("agents.agent_api.group_urls")),
    path("api/v1/", include("agents.api.urls")),
    # Before the admin's own login: the same sign-in limits as the console's /login/.
    path("admin/", include("agents.console.admin_urls")),
    path("admin/", admin.site.urls),
    # The console: sign-in at /login/, pages from / on.
    path("", include("agents.console.urls")),
    path("", include("webhooks.console_urls")),
    path("", include("ops.console")),
]

handler400 = "missioncontrol.api.errors.bad_request"
handler403 = "missioncontrol.api.errors.permission_denied"
handler404 = "missioncontrol.api.errors.page_not_found"
handler500 = "missioncontrol.api.errors.server_error"
