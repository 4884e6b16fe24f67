"""Routes other than ingest while the database is away: 503 with Retry-After, no tracebacks."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.db.utils import InterfaceError, OperationalError
from django.test import Client

from ops import database_outage

pytestmark = pytest.mark.django_db

REFUSED = OperationalError("connection failed: Connection refused")


@pytest.fixture(autouse=True)
def no_outage():
    database_outage.outage.since = None
    yield
    database_outage.outage.since = None


def database_down():
    """Every query fails as it does while Postgres is stopped."""
    return mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=REFUSED)


@pytest.fixture
def signed_in(owner) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    return client


def test_an_api_route_answers_503_with_retry_after_in_the_envelope(signed_in: Client, caplog):
    client = signed_in
    with caplog.at_level(logging.INFO), database_down():
        response = client.get("/api/v1/boards")

    assert response.status_code == 503
    assert response["Retry-After"] == str(database_outage.RETRY_AFTER_SECONDS)
    body = response.json()
    assert set(body) == {"detail", "request_id"}
    assert body["detail"] == database_outage.UNAVAILABLE_DETAIL
    assert not [record for record in caplog.records if record.name == "django.request"]
    assert not [record for record in caplog.records if record.exc_info]


def test_a_console_page_answers_a_short_plain_503_page(signed_in: Client, caplog):
    client = signed_in
    with caplog.at_level(logging.INFO), database_down():
        response = client.get("/")

    assert response.status_code == 503
    assert response["Retry-After"] == str(database_outage.RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith("text/html")
    assert b"database does not answer" in response.content
    assert b"Traceback" not in response.content
    assert not [record for record in caplog.records if record.exc_info]


def test_many_requests_in_one_outage_log_one_warning(signed_in: Client, caplog):
    client = signed_in
    with caplog.at_level(logging.INFO), database_down():
        for _ in range(5):
            assert client.get("/").status_code == 503
    database_outage.connection_created(sender=None)

    lines = [(record.levelname, record.getMessage()) for record in caplog.records if record.name == "ops.database"]
    assert len(lines) == 2
    assert lines[0][0] == "WARNING" and "Database unavailable" in lines[0][1]
    assert lines[1][0] == "INFO" and "Database available again" in lines[1][1]


class _Cause(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        super().__init__("x")
        self.sqlstate = sqlstate


def error_with(sqlstate: str | None, kind: type[Exception] = OperationalError) -> Exception:
    error = kind("x")
    error.__cause__ = _Cause(sqlstate)
    return error


@pytest.mark.parametrize(("error", "unavailable"), [
    (error_with(None), True),                     # refused, no server to give a state
    (error_with("57P01"), True),                  # terminating connection due to administrator command
    (error_with("57P03"), True),                  # the database system is starting up
    (error_with(None, InterfaceError), True),     # the connection is already closed
    (error_with("40P01"), False),                 # deadlock: one statement, the connection works
    (error_with("40001"), False),                 # serialization failure
    (error_with("57014"), False),                 # statement cancelled (statement_timeout)
    (RuntimeError("x"), False),
])
def test_only_errors_of_a_database_that_does_not_answer_count_as_an_outage(error, unavailable):
    assert database_outage.is_unavailable(error) is unavailable
