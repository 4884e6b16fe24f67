"""Checks run once when a server process starts (gunicorn loads ``missioncontrol.wsgi``)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core import checks

logger = logging.getLogger("ops.startup")


class StartupRefused(RuntimeError):
    """Configuration errors that stop the server.

    A ``RuntimeError`` on purpose: gunicorn prints such an error from its master as one
    clean "Error: ..." paragraph and exits 1, and from a worker it halts with
    "Worker failed to boot" instead of restarting the worker in a loop.
    """


def startup_errors() -> list[checks.CheckMessage]:
    messages = checks.run_checks(include_deployment_checks=settings.PRODUCTION)
    return [message for message in messages if message.is_serious() and not message.is_silenced()]


def warn_about_static_files() -> None:
    """A warning, not a refusal: the API and probes work without collected static files
    (and the test servers start without them); console pages answer a plain error page."""
    from ops.probes import static_manifest_missing

    if static_manifest_missing():
        logger.warning("The staticfiles manifest is missing: console pages cannot render until "
                       "you run manage.py collectstatic (STATIC_ROOT=%s).", settings.STATIC_ROOT)


def run_startup_checks() -> None:
    """Raise ``StartupRefused`` listing every error, so the process refuses to start."""
    errors = startup_errors()
    if errors:
        raise StartupRefused(
            "Mission Control cannot start:\n" + "\n".join(f"  {message}" for message in errors)
        )
    warn_about_static_files()
