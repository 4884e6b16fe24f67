"""How a webhook event is handed to its target agent.

A notifier gets one :class:`DeliveryEvent` per attempt and either says what became of it
(:class:`Outcome`) or raises; any exception is a failed attempt, retried with backoff by
``webhooks.delivery``. Today there is one notifier, :class:`AwaitingPickup`: the event is
already in board memory and readable through the agent API, so the delivery completes
when the target agent reads the payload. A notifier that pushes to the agent's gateway
will implement the same interface and answer ``Outcome.DELIVERED``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from agents.models import Agent
from webhooks.models import Webhook, WebhookDelivery, WebhookPayload


class Outcome(Enum):
    DELIVERED = "delivered"
    """The agent has the event now."""
    AWAITING_PICKUP = "awaiting_pickup"
    """The event waits where the agent will find it; reading it completes the delivery."""


@dataclass(frozen=True)
class DeliveryEvent:
    delivery: WebhookDelivery
    payload: WebhookPayload
    webhook: Webhook
    agent: Agent
    attempt: int


class Notifier(Protocol):
    name: str

    def notify(self, event: DeliveryEvent) -> Outcome: ...


class AwaitingPickup:
    """Leaves the event in board memory and the agent API for the agent's next heartbeat."""

    name = "awaiting_pickup"

    def notify(self, event: DeliveryEvent) -> Outcome:
        return Outcome.AWAITING_PICKUP


_notifier: Notifier = AwaitingPickup()


def current_notifier() -> Notifier:
    return _notifier


def use_notifier(notifier: Notifier) -> Notifier:
    """Replace the notifier (tests, or a deployment with a push channel); returns the previous one."""
    global _notifier
    previous, _notifier = _notifier, notifier
    return previous
