from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        from agents import metrics
        from agents.rules import listeners
        from webhooks.figures import delivery_figures
        from webhooks.waiting import target_appointed

        metrics.register_delivery_figures(delivery_figures)
        listeners.on_lead_appointed(target_appointed)
