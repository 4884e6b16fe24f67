"""The Postgres backend's health check: a kept connection is reused when its socket is
quiet, replaced when the server has ended it, and no statement is sent to find out."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import close_old_connections, connection

from tests.conftest import (
    end_backend_of,
    from_outside,
    require_postgres,
    require_postgres_server,
    until_the_server_has_spoken,
)
from tests.ops import servers
from tests.ops.test_config_checks import settings_read_from


@pytest.fixture
def kept(transactional_db):
    """The default connection as a request between two others sees it: open, kept for
    reuse, due for its health check."""
    require_postgres()
    close_old_connections()
    connection.ensure_connection()
    yield connection
    close_old_connections()


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def next_request() -> None:
    """What Django does between two requests: the health check becomes due again."""
    close_old_connections()


@pytest.mark.postgres
def test_the_product_runs_on_the_backend_that_checks_the_socket():
    require_postgres()
    assert connection.settings_dict["ENGINE"] == "missioncontrol.postgres"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    assert connection.vendor == "postgresql"


@pytest.mark.parametrize(("value", "engine"), [(None, "missioncontrol.postgres"), ("socket", "missioncontrol.postgres"),
                                                ("query", "django.db.backends.postgresql")])
def test_db_health_check_picks_the_socket_or_djangos_select_1(value, engine, monkeypatch):
    env = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/missioncontrol"}
    if value is not None:
        env["DB_HEALTH_CHECK"] = value
    read = settings_read_from(env, monkeypatch)
    assert read["DATABASES"]["default"]["ENGINE"] == engine
    assert read["CONFIG_PROBLEMS"] == []


def test_a_wrong_db_health_check_is_a_configuration_error(monkeypatch):
    read = settings_read_from({"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/missioncontrol",
                               "DB_HEALTH_CHECK": "ping"}, monkeypatch)
    assert [(problem.variable, problem.message) for problem in read["CONFIG_PROBLEMS"]] == [
        ("DB_HEALTH_CHECK", "DB_HEALTH_CHECK='ping' is not one of socket, query.")]
    assert read["DATABASES"]["default"]["ENGINE"] == "missioncontrol.postgres"


@pytest.mark.postgres
def test_a_quiet_connection_is_reused_without_a_statement(kept):
    pid = backend_pid()
    next_request()
    # Any statement on the raw connection before the request's own query would fail here.
    with mock.patch.object(kept.connection, "execute", side_effect=AssertionError("a statement was sent")), \
            mock.patch.object(kept.connection, "cursor", side_effect=AssertionError("a statement was sent")):
        kept.close_if_health_check_failed()
    assert kept.health_check_done is True
    assert backend_pid() == pid


@pytest.mark.postgres
def test_a_connection_the_server_ended_is_replaced_before_the_request_uses_it(kept):
    pid = end_backend_of(kept)
    next_request()
    # The request's first query runs on a new connection instead of failing on the old one.
    assert backend_pid() != pid


@pytest.mark.postgres
def test_a_connection_left_inside_a_transaction_or_broken_is_not_reused(kept):
    pid = backend_pid()
    kept.connection.execute("BEGIN")
    next_request()
    assert kept.is_quiet() is False
    kept.close_if_health_check_failed()
    assert kept.connection is None
    assert backend_pid() != pid
    kept.connection.close()
    assert kept.is_quiet() is False


@pytest.mark.postgres
def test_anything_the_server_sent_unasked_makes_the_connection_suspect(kept):
    """The product never LISTENs; a message waiting on an idle connection is taken as the
    server ending it, and the cost of being wrong is one new connection."""
    pid = backend_pid()
    kept.connection.execute("LISTEN mc_health_probe")
    from_outside(kept, "SELECT pg_notify('mc_health_probe', 'hello')", [])
    until_the_server_has_spoken(kept)
    next_request()
    assert backend_pid() != pid


TLS_POSTGRES_PORT = servers.private_service_port(18155)


@pytest.mark.postgres
@pytest.mark.slow
def test_over_tls_a_quiet_connection_is_kept_and_an_ended_one_replaced(django_db_blocker):
    """Managed Postgres speaks TLS: what TLS itself sends (TLS 1.3 session tickets after the
    handshake) must not look like the server speaking unasked, or every request would open
    a new connection."""
    from missioncontrol.postgres.base import DatabaseWrapper

    require_postgres()
    require_postgres_server()
    with servers.private_postgres(TLS_POSTGRES_PORT, tls=True) as server:
        settings_dict = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": server.port, "NAME": "missioncontrol",
                         "OPTIONS": {"sslmode": "require"}, "CONN_HEALTH_CHECKS": True, "CONN_MAX_AGE": None}
        wrapper = DatabaseWrapper(settings_dict, alias="tls_probe")
        # A connection of its own to its own server: pytest-django's guard is for the test database.
        with django_db_blocker.unblock():
            def pid_and_tls() -> tuple[int, str]:
                with wrapper.cursor() as cursor:
                    cursor.execute("SELECT pid, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                    return cursor.fetchone()

            first, version = pid_and_tls()
            assert version.startswith("TLS")
            for _ in range(20):
                wrapper.close_if_unusable_or_obsolete()
                assert pid_and_tls()[0] == first
            assert end_backend_of(wrapper) == first
            wrapper.close_if_unusable_or_obsolete()
            assert pid_and_tls()[0] != first
            wrapper.close()


@pytest.mark.postgres
def test_the_socket_is_looked_at_once_per_request_and_djangos_select_1_stays_for_errors(kept):
    """Before a request's first query only; after an error Django still asks ``is_usable``
    (its SELECT 1) at the request's end, and that is kept as it is."""
    next_request()
    with mock.patch.object(kept, "is_quiet", wraps=kept.is_quiet) as quiet:
        backend_pid()
        backend_pid()
    assert quiet.call_count == 1
    assert kept.is_usable() is True
