"""The console's static files: collected with cache-busting names and served by whitenoise."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def collected(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", interactive=False, verbosity=0)
    return settings.STATIC_ROOT


def test_pages_link_hashed_file_names_after_collectstatic(client, member, collected):
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.utils.functional import empty

    # A fresh storage reads the manifest collectstatic just wrote, as a new process would.
    staticfiles_storage._wrapped = empty
    client.force_login(member)
    html = client.get("/").content.decode()
    css = re.search(r'href="(/static/console/console\.[0-9a-f]{12}\.css)"', html)
    js = re.search(r'src="(/static/console/console\.[0-9a-f]{12}\.js)"', html)
    assert css and js
    assert (collected / css.group(1).removeprefix("/static/")).exists()
    assert (collected / (js.group(1).removeprefix("/static/") + ".gz")).exists()

    # whitenoise serves the hashed names as immutable, so browsers keep them for good.
    served = client.get(css.group(1))
    assert served.status_code == 200
    assert "immutable" in served["Cache-Control"] and "max-age=315360000" in served["Cache-Control"]


def test_the_static_manifest_is_not_served(client, collected):
    assert (collected / "staticfiles.json").exists()
    for path in ("/static/staticfiles.json", "/static/staticfiles.json.gz", "/static/staticfiles.json.br"):
        assert client.get(path).status_code == 404, path
    assert client.get("/static/console/console.css").status_code == 200  # other files still are


def test_the_static_manifest_is_not_served_when_files_are_found_per_request(client, collected, settings):
    settings.WHITENOISE_AUTOREFRESH = True
    assert client.get("/static/staticfiles.json").status_code == 404
