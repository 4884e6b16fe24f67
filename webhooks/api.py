"""The webhook routes of the user API: members of the board's organization read, owners
and admins change; anyone else gets 404. (Agents read payloads through
``webhooks.agent_api``.)"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response

from agents import access
from agents.http import PersonRequest
from agents.models import Board
from missioncontrol.api.schema import NO_CONTENT, error_responses
from missioncontrol.api.views import PersonView, paginated, validated
from missioncontrol.lookups import get_or_404
from webhooks import services
from webhooks.ingest import ingest
from webhooks.models import Webhook, WebhookPayload
from webhooks.serializers import (
    WebhookDeliverySerializer,
    WebhookPayloadWithDeliveriesSerializer,
    WebhookSerializer,
    WebhookWriteSerializer,
)

TAGS = ["webhooks"]


def _webhook_on(board: Board, webhook_id: Any) -> Webhook:
    webhook = get_or_404(Webhook.objects.filter(board=board), webhook_id)
    webhook.board = board  # already loaded and checked
    return webhook


def _payload_of(webhook: Webhook, payload_id: Any) -> WebhookPayload:
    payload = get_or_404(WebhookPayload.objects.filter(webhook=webhook), payload_id)
    payload.webhook = webhook
    payload.board = webhook.board
    return payload


class WebhookListView(PersonView):
    @extend_schema(operation_id="webhooks_list", tags=TAGS, summary="Webhooks of a board, newest first",
                   responses={200: WebhookSerializer(many=True), **error_responses(401, 403, 404, 422)})
    def get(self, request: PersonRequest, board_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        return paginated(request, Webhook.objects.filter(board=board).order_by("-created_at", "id"),
                         WebhookSerializer)

    @extend_schema(operation_id="webhooks_create", tags=TAGS,
                   summary="Create a webhook; outside services post to its endpoint_url",
                   request=WebhookWriteSerializer,
                   responses={201: WebhookSerializer, **error_responses(401, 403, 404, 422)})
    def post(self, request: PersonRequest, board_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id, admin=True)
        webhook = services.create_webhook(board, request.user, **validated(WebhookWriteSerializer, request,
                                                                            board=board))
        return Response(WebhookSerializer(webhook).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(PersonView):
    @extend_schema(operation_id="webhooks_read", tags=TAGS, summary="One webhook (its secret is never shown)",
                   responses={200: WebhookSerializer, **error_responses(401, 403, 404)})
    def get(self, request: PersonRequest, board_id: UUID, webhook_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        return Response(WebhookSerializer(_webhook_on(board, webhook_id)).data)

    @extend_schema(operation_id="webhooks_update", tags=TAGS, summary="Change a webhook (partial)",
                   request=WebhookWriteSerializer,
                   responses={200: WebhookSerializer, **error_responses(401, 403, 404, 422)})
    def patch(self, request: PersonRequest, board_id: UUID, webhook_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id, admin=True)
        webhook = _webhook_on(board, webhook_id)
        changes = validated(WebhookWriteSerializer, request, board=board, partial=True)
        webhook = services.update_webhook(webhook, request.user, **changes)
        return Response(WebhookSerializer(webhook).data)

    @extend_schema(operation_id="webhooks_delete", tags=TAGS,
                   summary="Delete a webhook with its stored payloads",
                   responses={**NO_CONTENT, **error_responses(401, 403, 404)})
    def delete(self, request: PersonRequest, board_id: UUID, webhook_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id, admin=True)
        services.delete_webhook(_webhook_on(board, webhook_id), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


INGEST_ACCEPTED = inline_serializer("WebhookIngestAccepted", fields={
    "ok": serializers.BooleanField(), "board_id": serializers.UUIDField(), "webhook_id": serializers.UUIDField(),
    "payload_id": serializers.UUIDField()})


class WebhookEndpointView(WebhookDetailView):
    """The shared path as the OpenAPI document shows it: the user API's GET, PATCH and
    DELETE, and the open ingest POST. ``webhooks.urls.webhook_endpoint`` sends a POST
    straight to ``webhooks.ingest.ingest``, outside DRF, so this class is only read by
    the schema generator; ``post`` hands over the same way should it ever be routed."""

    @extend_schema(
        # One empty security requirement: no credentials at all (the stubs type auth as names only).
        operation_id="webhooks_ingest", tags=TAGS, auth=[{}],  # type: ignore[list-item]
        summary="Deliver an event to a board (open: no credentials, optional HMAC signature)",
        description=(
            "Called by outside services. Any body up to WEBHOOK_MAX_PAYLOAD_BYTES is accepted: JSON is stored "
            "as JSON, anything else as text. When the webhook has a secret, the body must be signed with "
            "HMAC-SHA256 in X-Hub-Signature-256 or X-Webhook-Signature (or the webhook's signature_header), "
            "hex, `sha256=` prefix optional. Checks run in this order: 429, 404/410, 413, 403."),
        request={"application/json": OpenApiTypes.ANY, "*/*": OpenApiTypes.BINARY},
        parameters=[OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                                     description="HMAC-SHA256 of the raw body, when the webhook has a secret.")
                    for name in ("X-Hub-Signature-256", "X-Webhook-Signature")],
        responses={202: OpenApiResponse(INGEST_ACCEPTED, description="Stored; it will be delivered."),
                   **error_responses(403, 404, 410, 413, 429)})
    def post(self, request: PersonRequest, board_id: UUID, webhook_id: UUID) -> HttpResponse:
        return ingest(request._request, board_id, webhook_id)


class WebhookPayloadListView(PersonView):
    @extend_schema(operation_id="webhook_payloads_list", tags=TAGS,
                   summary="Payloads a webhook received, newest first, with their deliveries",
                   responses={200: WebhookPayloadWithDeliveriesSerializer(many=True),
                              **error_responses(401, 403, 404, 422)})
    def get(self, request: PersonRequest, board_id: UUID, webhook_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        webhook = _webhook_on(board, webhook_id)
        payloads = (WebhookPayload.objects.filter(webhook=webhook).prefetch_related("deliveries")
                    .order_by("-received_at", "id"))
        return paginated(request, payloads, WebhookPayloadWithDeliveriesSerializer)


class WebhookPayloadDetailView(PersonView):
    @extend_schema(operation_id="webhook_payloads_read", tags=TAGS, summary="One payload with its deliveries",
                   responses={200: WebhookPayloadWithDeliveriesSerializer, **error_responses(401, 403, 404)})
    def get(self, request: PersonRequest, board_id: UUID, webhook_id: UUID, payload_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id)
        payload = _payload_of(_webhook_on(board, webhook_id), payload_id)
        return Response(WebhookPayloadWithDeliveriesSerializer(payload).data)


class WebhookPayloadRedeliverView(PersonView):
    @extend_schema(operation_id="webhook_payloads_redeliver", tags=TAGS,
                   summary="Replay a payload: its delivery starts a new cycle of attempts",
                   request=None,
                   responses={202: WebhookDeliverySerializer, **error_responses(401, 403, 404)})
    def post(self, request: PersonRequest, board_id: UUID, webhook_id: UUID, payload_id: UUID) -> Response:
        board = access.get_board_for(request.user, board_id, admin=True)
        payload = _payload_of(_webhook_on(board, webhook_id), payload_id)
        delivery = services.redeliver(payload, request.user)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
