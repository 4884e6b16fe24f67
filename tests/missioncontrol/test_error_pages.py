"""Outside the API, errors answer with a page even when the page itself cannot render.

Without ``collectstatic`` the manifest storage raises on every ``{% static %}``; the
error pages use the console layout, so without a fallback a 404 became a 500 and the
500 handler itself crashed into the server's bare "Internal Server Error"."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client, RequestFactory

from missioncontrol.api import errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_manifest(settings, tmp_path):
    """The production storage over an empty STATIC_ROOT: what a start without collectstatic sees."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    errors.forget_logged_fallbacks()
    yield
    errors.forget_logged_fallbacks()


def assert_plain_page(response, status: int, words: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert words.lower() in response.content.decode().lower()
    assert response["X-Request-ID"]


def test_an_unknown_page_is_404_without_the_static_manifest(no_manifest):
    response = Client(raise_request_exception=False).get("/no-such-page")
    assert_plain_page(response, 404, "Not found")


def test_an_unknown_static_file_is_404_without_the_static_manifest(no_manifest):
    response = Client(raise_request_exception=False).get("/static/nonexistent.css")
    assert_plain_page(response, 404, "Not found")


def test_the_500_page_falls_back_to_plain_html(no_manifest):
    response = errors.server_error(RequestFactory().get("/boards/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


@pytest.mark.parametrize(("handler", "exception", "status", "words"), [
    (errors.page_not_found, Http404(), 404, "Not found"),
    (errors.permission_denied, PermissionDenied(), 403, "Not allowed"),
    (errors.bad_request, ValueError("bad"), 400, "Bad request"),
])
def test_each_error_page_falls_back_to_plain_html(no_manifest, handler, exception, status, words):
    response = handler(RequestFactory().get("/boards/"), exception)
    assert response.status_code == status
    assert words.lower() in response.content.decode().lower()


def test_the_fallback_is_logged_once_per_kind_of_page(no_manifest, caplog):
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.WARNING, logger="missioncontrol.api.errors"):
        client.get("/no-such-page")
        client.get("/no-such-page-either")
    fallbacks = [r for r in caplog.records if r.name == "missioncontrol.api.errors"]
    assert len(fallbacks) == 1
    assert "404" in fallbacks[0].getMessage() and "collectstatic" in fallbacks[0].getMessage()


def test_error_pages_still_use_the_console_layout_when_it_renders(console_static):
    response = Client().get("/no-such-page")
    assert response.status_code == 404
    assert "There is nothing here" in response.content.decode()


def test_api_paths_keep_the_json_envelope_without_the_manifest(no_manifest):
    response = Client().get("/api/v1/no-such-route")
    assert response.status_code == 404 and response.json()["detail"] == "Not found."
