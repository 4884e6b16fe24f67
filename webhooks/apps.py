from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        from agents import metrics
        from webhooks.figures import delivery_figures

        metrics.register_delivery_figures(delivery_figures)
