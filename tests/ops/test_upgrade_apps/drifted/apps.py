from django.apps import AppConfig


class DriftedConfig(AppConfig):
    name = "tests.ops.test_upgrade_apps.drifted"
    label = "upgrade_drifted"
    default_auto_field = "django.db.models.BigAutoField"
