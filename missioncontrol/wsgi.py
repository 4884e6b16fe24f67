"""WSGI entry point: ``missioncontrol.wsgi:application`` (gunicorn).

Runs Django's system checks before serving, so a configuration error (a bad variable, an
unreachable Redis rate-limit backend) stops gunicorn with the check's sentence instead of
serving requests that would fail one by one.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")

application = get_wsgi_application()

from ops.startup import run_startup_checks  # noqa: E402  (needs the app registry loaded above)

run_startup_checks()
