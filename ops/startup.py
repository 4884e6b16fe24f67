"""Checks run once when a server process starts (gunicorn loads ``missioncontrol.wsgi``)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.management.base import SystemCheckError


def run_startup_checks() -> None:
    """Raise ``SystemCheckError`` listing every error, so the process refuses to start."""
    messages = checks.run_checks(include_deployment_checks=settings.PRODUCTION)
    errors = [message for message in messages if message.is_serious() and not message.is_silenced()]
    if errors:
        raise SystemCheckError(
            "Mission Control cannot start:\n" + "\n".join(f"  {message}" for message in errors)
        )
