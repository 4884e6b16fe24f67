"""Static files as whitenoise serves them, minus collectstatic's manifest."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from whitenoise.middleware import WhiteNoiseMiddleware

# ManifestStaticFilesStorage's manifest_name; with its compressed variants.
MANIFEST_NAME = "staticfiles.json"


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """whitenoise serves every file under ``STATIC_ROOT``, and that includes
    ``staticfiles.json``: the map of every static file to its hashed name, which the
    server reads and no browser needs. It answers 404 like any file that is not there."""

    def _hidden(self, url: str) -> bool:
        manifest = f"{settings.STATIC_URL.rstrip('/')}/{MANIFEST_NAME}"
        return url in (manifest, f"{manifest}.gz", f"{manifest}.br")

    def add_file_to_dictionary(self, url: str, path: str, stat_cache: Any = None) -> None:
        if not self._hidden(url):
            super().add_file_to_dictionary(url, path, stat_cache=stat_cache)

    def find_file(self, url: str) -> Any:
        # With autorefresh (DEBUG), files are looked up per request instead of indexed at start.
        return None if self._hidden(url) else super().find_file(url)
