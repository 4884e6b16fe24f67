from __future__ import annotations

import pytest

pytestmark = pytest.mark.urls("tests.ops.urls")


def test_responses_carry_the_security_headers(client):
    response = client.get("/console/page")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_console_pages_carry_a_content_security_policy(client):
    policy = client.get("/console/page")["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy


def test_api_errors_keep_the_security_headers(client):
    response = client.get("/api/v1/nowhere")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_an_allowed_origin_gets_cors_headers(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    response = client.get("/api/v1/open", headers={"Origin": "https://app.example.com"})
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "x-request-id" in response["Access-Control-Expose-Headers"].lower()


def test_an_unknown_origin_gets_no_cors_headers(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    response = client.get("/api/v1/open", headers={"Origin": "https://evil.example.net"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_a_preflight_from_an_allowed_origin_is_answered(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    response = client.options("/api/v1/open", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, x-agent-token"})
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "x-agent-token" in response["Access-Control-Allow-Headers"]


def test_cors_headers_survive_an_api_error(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    response = client.post("/api/v1/plain-get-only", headers={"Origin": "https://app.example.com"})
    assert response.status_code == 405
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
