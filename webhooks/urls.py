"""Webhook routes: ingest and configuration share one path, told apart by method.

``POST /api/v1/boards/{board_id}/webhooks/{webhook_id}`` is the open ingest endpoint;
GET, PATCH and DELETE on the same path are the user API for that webhook. Included
before the user API so these paths are matched here.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponseBase
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from webhooks import agent_api, api
from webhooks.ingest import ingest

_detail = api.WebhookDetailView.as_view()


@csrf_exempt
def webhook_endpoint(request: HttpRequest, board_id: UUID, webhook_id: UUID) -> HttpResponseBase:
    # Outside services cannot hold a CSRF token; the DRF view does its own CSRF check for sessions.
    if request.method == "POST":
        return ingest(request, board_id, webhook_id)
    response = _detail(request, board_id=board_id, webhook_id=webhook_id)
    if response.has_header("Allow"):
        # The configuration view lists its own methods (on 405 and OPTIONS); the path also takes POST.
        methods = [m.strip() for m in response["Allow"].split(",") if m.strip() and m.strip() != "POST"]
        methods.insert(1 if methods[:1] == ["GET"] else 0, "POST")
        response["Allow"] = ", ".join(methods)
    return response


# drf-spectacular documents both halves (configuration and ingest) through the dispatcher.
webhook_endpoint.cls = api.WebhookEndpointView  # type: ignore[attr-defined]
webhook_endpoint.initkwargs = {}  # type: ignore[attr-defined]

_BOARD = "api/v1/boards/<uuid:board_id>/webhooks"
_WEBHOOK = _BOARD + "/<uuid:webhook_id>"

urlpatterns: list[Any] = [
    path(_BOARD, api.WebhookListView.as_view(), name="webhooks"),
    path(_WEBHOOK, webhook_endpoint, name="webhook"),
    path(_WEBHOOK + "/payloads", api.WebhookPayloadListView.as_view(), name="webhook-payloads"),
    path(_WEBHOOK + "/payloads/<uuid:payload_id>", api.WebhookPayloadDetailView.as_view(), name="webhook-payload"),
    path(_WEBHOOK + "/payloads/<uuid:payload_id>/redeliver", api.WebhookPayloadRedeliverView.as_view(),
         name="webhook-payload-redeliver"),
    path("api/v1/agent/boards/<str:board_id>/webhooks/<str:webhook_id>/payloads/<str:payload_id>",
         agent_api.AgentWebhookPayloadView.as_view(), name="agent-webhook-payload"),
]
