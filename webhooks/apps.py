from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        from agents import metrics
        from agents.rules import listeners
        from ops import probes
        from webhooks.figures import delivery_figures, delivery_trend
        from webhooks.spool import check_spool
        from webhooks.waiting import target_appointed

        metrics.register_delivery_figures(delivery_figures, delivery_trend)
        listeners.on_lead_appointed(target_appointed)
        probes.register_check("webhook_spool", check_spool)
