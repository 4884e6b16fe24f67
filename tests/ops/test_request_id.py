from __future__ import annotations

import logging
import re

import pytest

from ops.logging import RequestIdFilter
from ops.middleware import sanitise_request_id
from ops.request_context import get_request_id

pytestmark = pytest.mark.urls("tests.ops.urls")


def test_a_sane_request_id_is_echoed_back(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123_x.y"})
    assert response["X-Request-ID"] == "abc-123_x.y"


def test_a_missing_request_id_is_generated(client):
    response = client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.mark.parametrize("bad", ["", "has space", "a" * 65, "semi;colon", "new\nline", "ünïcode", "<script>"])
def test_an_unsafe_request_id_is_replaced_with_a_new_one(client, bad):
    response = client.get("/healthz", headers={"X-Request-ID": bad})
    assert response["X-Request-ID"] != bad
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_sixty_four_characters_is_still_accepted():
    assert sanitise_request_id("a" * 64) == "a" * 64


def test_every_response_carries_the_request_id_including_errors(client):
    assert client.get("/api/v1/nowhere", headers={"X-Request-ID": "r-404"})["X-Request-ID"] == "r-404"
    assert client.post("/healthz", headers={"X-Request-ID": "r-405"})["X-Request-ID"] == "r-405"


def test_error_bodies_quote_the_request_id(client):
    response = client.get("/api/v1/nowhere", headers={"X-Request-ID": "quoted-id"})
    assert response.json()["request_id"] == "quoted-id"


def test_log_lines_written_during_a_request_carry_its_id_and_it_is_cleared_after(client):
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect()
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("ops.access")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        client.get("/api/v1/open", headers={"X-Request-ID": "trace-me"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert [record.request_id for record in records] == ["trace-me"]
    assert get_request_id() is None


@pytest.mark.django_db
def test_django_s_own_5xx_log_line_carries_the_request_id_too(client):
    from ops import probes
    from ops.logging import TextFormatter

    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect()
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    probes.register_check("always_failing", lambda: {"ok": False, "error": "no"}, required=True)
    try:
        response = client.get("/readyz", headers={"X-Request-ID": "late-log"})
    finally:
        probes.unregister_check("always_failing")
        logger.removeHandler(handler)
    assert response.status_code == 503
    (record,) = records
    assert record.request_id == "late-log"
    line = TextFormatter().format(record)
    assert "[late-log]" in line and "WSGIRequest" not in line
