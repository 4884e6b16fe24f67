"""Probes, agent routes and ingest skip the console's middleware; console pages keep all of it."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from ops.lean_paths import is_lean_path


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/healthz"), ("HEAD", "/readyz"), ("GET", "/api/v1/agent/healthz"),
    ("POST", "/api/v1/agent/heartbeat"),
    ("POST", "/api/v1/boards/00000000-0000-0000-0000-000000000001/webhooks/00000000-0000-0000-0000-000000000002"),
])
def test_probes_agent_routes_and_ingest_are_lean(method, path):
    assert is_lean_path(RequestFactory().generic(method, path))


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/"), ("GET", "/login/"), ("GET", "/api/v1/boards"), ("GET", "/static/app.css"),
    # The same path read or changed by a person is the webhook's configuration, not an ingest.
    ("PATCH", "/api/v1/boards/00000000-0000-0000-0000-000000000001/webhooks/00000000-0000-0000-0000-000000000002"),
    ("GET", "/api/v1/heartbeat"),
])
def test_console_and_user_api_requests_are_not_lean(method, path):
    assert not is_lean_path(RequestFactory().generic(method, path))


def test_a_probe_gets_no_session_no_messages_and_no_csp(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response
    assert not hasattr(response.wsgi_request, "session") or not response.wsgi_request.session.accessed
    assert not hasattr(response.wsgi_request, "_messages")
    assert not hasattr(response.wsgi_request, "user")
    # The headers that matter on every answer stay.
    assert response["X-Content-Type-Options"] == "nosniff" and response["X-Frame-Options"] == "DENY"
    assert response["X-Request-ID"]


def test_an_agent_route_gets_no_messages_and_no_csp(client):
    response = client.get("/api/v1/agent/healthz")
    assert response.status_code == 401 and response.json()["detail"]
    assert "Content-Security-Policy" not in response
    assert not hasattr(response.wsgi_request, "_messages")


@pytest.mark.urls("tests.ops.urls")
def test_a_console_page_keeps_the_whole_stack(client):
    response = client.get("/console/page")
    assert response.status_code == 200
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert hasattr(response.wsgi_request, "_messages") and hasattr(response.wsgi_request, "user")
