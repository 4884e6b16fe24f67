"""A NUL in the path or the query string is a 400: Postgres text cannot hold it, so a
filter with one would reach the database and fail there as a 500."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(admin_user, console_static):
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("query", ["event_type=%00", "event_type=a%00b", "%00=1", "limit=10&event_type=x%00"])
def test_a_nul_in_an_api_query_parameter_is_a_400_in_the_envelope(client_for, admin_user, query):
    response = client_for(admin_user).get(f"/api/v1/activity?{query}")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["detail"] == "The request path or query string contains a NUL character."
    assert body["request_id"] == response["X-Request-ID"]


def test_a_nul_in_an_api_path_is_a_400_in_the_envelope(client_for, admin_user, board):
    response = client_for(admin_user).get(f"/api/v1/boards/{board.pk}%00/tasks")

    assert response.status_code == 400
    assert response.json()["detail"] == "The request path or query string contains a NUL character."


def test_a_nul_in_a_console_query_parameter_is_a_plain_400(browser):
    response = browser.get("/activity/?type=%00")

    assert response.status_code == 400
    assert not response["Content-Type"].startswith("application/json")
    assert response.content == b"The request path or query string contains a NUL character."


def test_the_same_requests_without_a_nul_still_work(client_for, admin_user, browser):
    assert client_for(admin_user).get("/api/v1/activity?event_type=task.created").status_code == 200
    assert browser.get("/activity/?type=task.created").status_code == 200
