from __future__ import annotations

import logging

import pytest
from django.test import Client

from ops.logging import RequestIdFilter

pytestmark = pytest.mark.urls("tests.ops.urls")


def assert_envelope(response, status, detail=None):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail", "request_id"}
    assert body["request_id"] == response["X-Request-ID"]
    if detail is not None:
        assert body["detail"] == detail
    return body


@pytest.fixture
def quiet_client():
    return Client(raise_request_exception=False)


def test_an_unknown_api_path_is_404_in_the_envelope(client):
    assert_envelope(client.get("/api/v1/nowhere"), 404, "Not found.")


def test_an_unknown_path_on_the_ingest_shape_is_404_in_the_envelope(client):
    assert_envelope(client.get("/api/v1/boards/not-a-uuid/webhooks/nor-this"), 404, "Not found.")


def test_an_unknown_console_path_is_not_json(client):
    response = client.get("/console/nowhere")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_a_wrong_method_on_a_drf_view_is_405_in_the_envelope(client):
    response = client.delete("/api/v1/open")
    assert_envelope(response, 405, 'Method "DELETE" not allowed.')


def test_a_wrong_method_on_a_probe_is_405_in_the_envelope_with_allow(client):
    response = client.post("/healthz")
    assert_envelope(response, 405, "Method not allowed; use GET.")
    assert response["Allow"] == "GET, HEAD"
    assert_envelope(client.put("/readyz"), 405)


def test_a_wrong_method_on_the_ingest_path_is_405_in_the_envelope(client):
    import uuid

    assert_envelope(client.get(f"/api/v1/boards/{uuid.uuid4()}/webhooks/{uuid.uuid4()}"), 405)


def test_an_unhandled_error_is_500_in_the_envelope_without_the_traceback(quiet_client):
    response = quiet_client.get("/api/v1/boom")
    assert_envelope(response, 500, "Internal server error.")
    assert b"secret internals" not in response.content
    assert b"Traceback" not in response.content


def test_an_unhandled_error_in_a_drf_view_is_500_in_the_envelope(quiet_client):
    response = quiet_client.get("/api/v1/drf-boom")
    assert_envelope(response, 500, "Internal server error.")
    assert b"secret internals" not in response.content


def test_an_unhandled_error_is_logged_with_the_request_id_and_traceback(quiet_client):
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect(level=logging.ERROR)
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        quiet_client.get("/api/v1/boom", headers={"X-Request-ID": "boom-1"})
    finally:
        logger.removeHandler(handler)
    (record,) = records
    assert record.request_id == "boom-1"
    assert record.exc_info is not None and "secret internals" in str(record.exc_info[1])


def test_django_plain_405_on_an_api_path_becomes_the_envelope_and_keeps_allow(client):
    response = client.post("/api/v1/plain-get-only")
    assert_envelope(response, 405, "Method Not Allowed.")
    assert response["Allow"] == "GET"


def test_a_csrf_refusal_on_an_api_path_becomes_the_envelope():
    response = Client(enforce_csrf_checks=True).post("/api/v1/csrf-protected", data={"a": "1"})
    assert_envelope(response, 403, "Forbidden.")


def test_a_csrf_refusal_on_a_console_path_stays_a_page():
    response = Client(enforce_csrf_checks=True).post("/console/page", data={"a": "1"})
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_too_many_requests_is_429_in_the_envelope_with_retry_after(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "agent_auth": (1, 60)}
    client.get("/api/v1/throttled")
    response = client.get("/api/v1/throttled")
    body = assert_envelope(response, 429)
    assert "throttled" in body["detail"].lower()
    assert 1 <= int(response["Retry-After"]) <= 60


@pytest.mark.urls("missioncontrol.urls")
def test_the_product_urls_answer_unknown_api_paths_with_the_envelope(client):
    assert_envelope(client.get("/api/v1/definitely-not-here"), 404, "Not found.")
    assert_envelope(client.post("/healthz"), 405)


def test_a_body_the_client_stopped_sending_is_400_without_a_traceback(quiet_client, caplog):
    from unittest import mock

    from django.http import HttpRequest, UnreadablePostError

    # What a request whose client ran out of the server's read deadline looks like to Django.
    with caplog.at_level(logging.INFO), mock.patch.object(
            HttpRequest, "body", new_callable=mock.PropertyMock, side_effect=UnreadablePostError("timed out")):
        response = quiet_client.post("/api/v1/echo", data=b"{}", content_type="application/json")

    assert_envelope(response, 400, "The request body could not be read.")
    assert not [record for record in caplog.records if record.exc_info]
    assert [record.levelname for record in caplog.records if "could not be read" in record.getMessage()] == ["WARNING"]
