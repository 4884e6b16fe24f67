"""Django admin for webhooks: superusers only, like every domain table (repairs, not daily work)."""

from __future__ import annotations

from django.contrib import admin

from agents.admin import DomainAdmin
from webhooks.models import Webhook, WebhookDelivery, WebhookPayload


@admin.register(Webhook)
class WebhookAdmin(DomainAdmin):
    list_display = ("__str__", "board", "enabled", "agent", "created_at")
    list_filter = ("enabled",)
    search_fields = ("description",)
    raw_id_fields = ("board", "agent")
    # The secret signs senders' bodies: it is made and shown once in the console, never read back here.
    exclude = ("secret",)


@admin.register(WebhookPayload)
class WebhookPayloadAdmin(DomainAdmin):
    list_display = ("id", "webhook", "board", "source_ip", "content_type", "received_at")
    raw_id_fields = ("webhook", "board")
    date_hierarchy = "received_at"
    # Stored events are evidence of what an outside service sent: read, never edited.
    readonly_fields = ("webhook", "board", "payload", "headers", "source_ip", "content_type", "received_at")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(DomainAdmin):
    list_display = ("id", "payload", "agent", "status", "attempts", "cycle", "next_attempt_at", "last_error")
    list_filter = ("status",)
    raw_id_fields = ("payload", "agent")
