from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from ops import checks, database_outage  # noqa: F401  (checks registers the configuration checks)
        from ops.backups import readiness

        readiness.register()
        connection_created.connect(database_outage.connection_created, dispatch_uid="ops.database_outage")
