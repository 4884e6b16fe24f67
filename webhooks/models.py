"""Inbound webhooks: configuration, stored payloads and their deliveries to agents."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from agents.models import Agent, Board


class Webhook(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="webhooks")
    # Shown to the board's agents as the instruction for what to do with each event.
    description = models.TextField(blank=True, default="")
    enabled = models.BooleanField(default=True)
    secret = models.CharField(max_length=500, blank=True, default="")
    signature_header = models.CharField(max_length=100, blank=True, default="")
    agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="webhooks")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["board", "-created_at"])]

    def __str__(self) -> str:
        return self.description.splitlines()[0][:80] if self.description else str(self.id)

    @property
    def endpoint_path(self) -> str:
        return f"/api/v1/boards/{self.board_id}/webhooks/{self.id}"

    @property
    def has_secret(self) -> bool:
        return bool(self.secret)


class WebhookPayload(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="payloads")
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="webhook_payloads")
    payload = models.JSONField(default=dict, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    source_ip = models.CharField(max_length=64, blank=True, default="")
    content_type = models.CharField(max_length=200, blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["webhook", "-received_at"]),
            models.Index(fields=["board", "-received_at"]),
        ]


class WebhookDelivery(models.Model):
    """One per payload and target agent; drives retries and the console's delivery view.

    ``waiting``: the webhook names no agent and its board has no lead, so there is nobody
    to deliver to. Such a delivery has no job; it starts when the board gets a lead or the
    webhook an agent (``webhooks.waiting``)."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting for a target"
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        DEAD = "dead", "Dead"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payload = models.ForeignKey(WebhookPayload, on_delete=models.CASCADE, related_name="deliveries")
    agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Bumped by each replay; a job from an earlier cycle finds a different number and stands down,
    # so a replay never runs side by side with the retries it replaced.
    cycle = models.PositiveIntegerField(default=1)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["payload", "-created_at"]),
            models.Index(fields=["agent", "status"]),
        ]
