from __future__ import annotations

import json
import logging

import pytest

from ops.logging import JsonFormatter, RequestIdFilter

pytestmark = pytest.mark.urls("tests.ops.urls")


def access_records(caplog):
    return [record for record in caplog.records if record.name == "ops.access"]


def slow_records(caplog):
    return [record for record in caplog.records if record.name == "ops.slow_requests"]


def test_one_access_line_per_request_with_method_route_status_and_timings(client, caplog):
    caplog.set_level(logging.INFO, logger="ops.access")
    client.get("/api/v1/open")
    (record,) = access_records(caplog)
    assert record.levelno == logging.INFO
    assert record.method == "GET"
    assert record.route == "/api/v1/open"
    assert record.status == 200
    assert record.duration_ms >= 0
    assert record.db_ms >= 0 and record.db_queries == 0
    assert record.client_ip == "127.0.0.1"


def test_the_route_is_the_pattern_not_the_concrete_path(client, caplog):
    caplog.set_level(logging.INFO, logger="ops.access")
    path = "/api/v1/boards/0b7e6a1c-6a55-4f5e-9d44-3a7f3f0b1c11/webhooks/8f1f0e0c-0a4e-4c6e-8b7a-1b9a1f1f2e22"
    client.post(path, data=b"{}", content_type="application/json")
    (record,) = access_records(caplog)
    assert record.route == "/api/v1/boards/<uuid:board_id>/webhooks/<uuid:webhook_id>"
    assert record.path == path
    assert record.status == 202


def test_an_unknown_path_is_logged_with_its_path_and_404(client, caplog):
    caplog.set_level(logging.INFO, logger="ops.access")
    client.get("/api/v1/nowhere")
    (record,) = access_records(caplog)
    assert (record.route, record.status) == ("/api/v1/nowhere", 404)


@pytest.mark.django_db
def test_database_queries_are_counted_and_timed_without_debug(client, caplog, settings):
    settings.DEBUG = False
    caplog.set_level(logging.INFO, logger="ops.access")
    client.get("/api/v1/queries?n=3")
    (record,) = access_records(caplog)
    assert record.db_queries == 3
    assert record.db_ms > 0


def test_an_unhandled_error_is_logged_as_500(client, caplog):
    caplog.set_level(logging.INFO, logger="ops.access")
    client.raise_request_exception = False
    client.get("/api/v1/boom")
    assert [record.status for record in access_records(caplog)] == [500]


def test_a_slow_request_writes_a_warning_on_the_slow_request_logger(client, caplog, settings):
    settings.REQUEST_LOG_SLOW_MS = 20
    caplog.set_level(logging.INFO)
    client.get("/api/v1/sleep?ms=40")
    (record,) = slow_records(caplog)
    assert record.levelno == logging.WARNING
    assert record.route == "/api/v1/sleep" and record.duration_ms >= 20
    assert record.threshold_ms == 20


def test_a_fast_request_writes_no_slow_warning(client, caplog, settings):
    settings.REQUEST_LOG_SLOW_MS = 5000
    caplog.set_level(logging.INFO)
    client.get("/api/v1/open")
    assert slow_records(caplog) == []
    assert len(access_records(caplog)) == 1


def test_zero_disables_the_slow_request_log(client, caplog, settings):
    settings.REQUEST_LOG_SLOW_MS = 0
    caplog.set_level(logging.INFO)
    client.get("/api/v1/sleep?ms=20")
    assert slow_records(caplog) == []


@pytest.mark.django_db
def test_probes_are_left_out_of_the_request_log(client, caplog, settings):
    settings.REQUEST_LOG_SLOW_MS = 0
    caplog.set_level(logging.INFO)
    client.get("/healthz")
    client.get("/readyz")
    assert access_records(caplog) == []


@pytest.mark.django_db
def test_probes_are_logged_when_asked_to_include_health(client, caplog, settings):
    settings.REQUEST_LOG_INCLUDE_HEALTH = True
    caplog.set_level(logging.INFO, logger="ops.access")
    client.get("/healthz")
    client.get("/readyz")
    assert [record.route for record in access_records(caplog)] == ["/healthz", "/readyz"]


def test_slow_probes_write_no_slow_warning_either(client, caplog, settings, monkeypatch):
    settings.REQUEST_LOG_SLOW_MS = 1
    caplog.set_level(logging.INFO)
    import ops.probes

    real = ops.probes.JsonResponse

    def slow_response(*args, **kwargs):
        import time

        time.sleep(0.01)
        return real(*args, **kwargs)

    monkeypatch.setattr(ops.probes, "JsonResponse", slow_response)
    client.get("/healthz")
    assert slow_records(caplog) == []


def test_json_log_format_gives_structured_fields(client, caplog):
    caplog.set_level(logging.INFO, logger="ops.access")
    client.get("/api/v1/open", headers={"X-Request-ID": "json-line"})
    (record,) = access_records(caplog)
    RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["logger"] == "ops.access"
    assert line["request_id"] == "json-line"
    assert line["method"] == "GET" and line["route"] == "/api/v1/open" and line["status"] == 200
    assert {"duration_ms", "db_ms", "db_queries"} <= line.keys()


def test_the_middleware_steps_aside_when_there_is_nothing_to_log(settings):
    from django.core.exceptions import MiddlewareNotUsed

    from ops.middleware import RequestTimingMiddleware, access_logger

    settings.REQUEST_LOG_SLOW_MS = 0
    old_level = access_logger.level
    access_logger.setLevel(logging.WARNING)
    try:
        with pytest.raises(MiddlewareNotUsed):
            RequestTimingMiddleware(lambda request: None)
        settings.REQUEST_LOG_SLOW_MS = 1000
        assert RequestTimingMiddleware(lambda request: None) is not None
    finally:
        access_logger.setLevel(old_level)
