from django.apps import AppConfig


class ProbeConfig(AppConfig):
    name = "tests.ops.test_upgrade_apps.probe"
    label = "upgrade_probe"
