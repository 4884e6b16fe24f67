"""Prints where Mission Control answers and how to sign in (the run command shows it at start)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print the console URL and how to sign in."

    def handle(self, *args: Any, **options: Any) -> None:
        lines = ["", f"Mission Control is running at {settings.BASE_URL}/"]
        if settings.AUTH_MODE == "local":
            lines += [
                "Sign in to the console with this token (it is also the API bearer token):",
                f"    {settings.LOCAL_AUTH_TOKEN}",
            ]
            if not settings.PRODUCTION and settings.LOCAL_AUTH_TOKEN_FILE.exists():
                lines.append(f"(kept in {settings.LOCAL_AUTH_TOKEN_FILE.relative_to(settings.BASE_DIR)}; "
                             "set LOCAL_AUTH_TOKEN to choose your own)")
        else:
            lines.append("Sign in with your Clerk account.")
        lines += ["Press Ctrl-C to stop.", ""]
        self.stdout.write("\n".join(lines))
