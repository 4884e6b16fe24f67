"""JSON shapes of webhooks, payloads and deliveries. A webhook's secret goes in, never out."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.models import Agent, Board
from missioncontrol.api.serializers import StrictSerializer
from webhooks import signatures
from webhooks.delivery import WAITING_REASON
from webhooks.models import Webhook, WebhookDelivery, WebhookPayload
from webhooks.payloads import truncate


class WebhookSerializer(serializers.ModelSerializer):
    board_id = serializers.UUIDField(read_only=True)
    agent_id = serializers.UUIDField(read_only=True, allow_null=True)
    has_secret = serializers.BooleanField(read_only=True)
    endpoint_path = serializers.CharField(read_only=True)
    endpoint_url = serializers.SerializerMethodField()

    class Meta:
        model = Webhook
        fields = ["id", "board_id", "description", "enabled", "has_secret", "signature_header", "agent_id",
                  "endpoint_path", "endpoint_url", "created_at", "updated_at"]
        read_only_fields = fields

    def get_endpoint_url(self, webhook: Webhook) -> str:
        return settings.BASE_URL + webhook.endpoint_path


class WebhookWriteSerializer(StrictSerializer):
    """Create and partial update. ``secret``: a new value replaces the old; "" or null removes it."""

    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    enabled = serializers.BooleanField(required=False)
    secret = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=500,
                                   trim_whitespace=False, write_only=True)
    signature_header = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=100)
    agent_id = serializers.UUIDField(required=False, allow_null=True,
                                     help_text="The agent that receives the events; none: the board lead.")

    def __init__(self, *args: Any, board: Board | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.board = board

    def validate_secret(self, value: str | None) -> str:
        return value or ""

    def validate_signature_header(self, value: str | None) -> str:
        value = (value or "").strip()
        if value and not signatures.is_valid_header_name(value):
            raise serializers.ValidationError(
                "Not a valid HTTP header name: use letters, digits and - (for example X-Signature).")
        return value

    def validate_agent_id(self, value: Any) -> Agent | None:
        if value is None:
            return None
        agent = Agent.objects.filter(pk=value, board=self.board).first() if self.board is not None else None
        if agent is None:
            raise serializers.ValidationError("The agent must be on this webhook's board.")
        return agent

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "agent_id" in attrs:
            attrs["agent"] = attrs.pop("agent_id")
        return attrs


class WebhookDeliverySerializer(serializers.ModelSerializer):
    agent_id = serializers.UUIDField(read_only=True, allow_null=True)
    payload_id = serializers.UUIDField(read_only=True)
    waiting_reason = serializers.SerializerMethodField(
        help_text="Why the delivery waits, when its status is waiting (nobody to deliver to); else null.")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "payload_id", "agent_id", "status", "waiting_reason", "attempts", "cycle", "next_attempt_at",
                  "last_attempt_at", "last_error", "delivered_at", "created_at", "updated_at"]
        read_only_fields = fields

    def get_waiting_reason(self, delivery: WebhookDelivery) -> str | None:
        return WAITING_REASON if delivery.status == WebhookDelivery.Status.WAITING else None


@extend_schema_field(OpenApiTypes.ANY)
class PayloadField(serializers.JSONField):
    """A JSON value as sent (object, list, ...), text for a body that was not JSON."""


class WebhookPayloadSerializer(serializers.ModelSerializer):
    board_id = serializers.UUIDField(read_only=True)
    webhook_id = serializers.UUIDField(read_only=True)
    payload = PayloadField(read_only=True)

    class Meta:
        model = WebhookPayload
        fields = ["id", "board_id", "webhook_id", "payload", "headers", "source_ip", "content_type", "received_at"]
        read_only_fields = fields


class WebhookPayloadWithDeliveriesSerializer(WebhookPayloadSerializer):
    """For people: the payload and what became of its deliveries."""

    deliveries = WebhookDeliverySerializer(many=True, read_only=True)

    class Meta(WebhookPayloadSerializer.Meta):
        fields = [*WebhookPayloadSerializer.Meta.fields, "deliveries"]
        read_only_fields = fields


class AgentPayloadSerializer(WebhookPayloadSerializer):
    """The agent's view: ``payload`` shortened to ``max_chars`` characters when asked."""

    def to_representation(self, instance: WebhookPayload) -> dict[str, Any]:
        data = super().to_representation(instance)
        max_chars = self.context.get("max_chars")
        if max_chars is not None:
            data["payload"] = truncate(instance.payload, max_chars)
        return data


class MaxCharsSerializer(serializers.Serializer):
    max_chars = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000)
