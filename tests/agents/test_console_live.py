"""Live refresh: the dashboard, a board and the approvals queue answer 304 while nothing changed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agents import rules
from tests.conftest import make_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]


def live_urls(board):
    return [reverse("console:dashboard_live"), reverse("console:board_live", args=[board.pk]),
            reverse("console:approvals_live")]


def test_a_poll_with_the_current_etag_gets_304_and_no_body(client, owner, board):
    make_task(board, "Steady")
    client.force_login(owner)
    for url in live_urls(board):
        first = client.get(url)
        assert first.status_code == 200 and first["ETag"], url
        again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304, url
        assert again.content == b""
        assert again["ETag"] == first["ETag"]
        assert "no-cache" in again["Cache-Control"] and "private" in again["Cache-Control"]


def test_a_change_gives_a_new_etag_and_the_new_fragment(client, owner, board, worker):
    task = make_task(board, "Moving", assigned_agent=worker)
    client.force_login(owner)
    before = {url: client.get(url)["ETag"] for url in live_urls(board)}

    rules.update_task(owner, task, {"status": "in_progress"})
    rules.request_approval(worker, board, {"action_type": "mark_done", "task_id": str(task.pk),
                                           "lead_reasoning": "Ready for a look.", "confidence": 60})

    for url in live_urls(board):
        response = client.get(url, HTTP_IF_NONE_MATCH=before[url])
        assert response.status_code == 200, url
        assert response["ETag"] != before[url]
    board_html = client.get(reverse("console:board_live", args=[board.pk])).content.decode()
    assert "Awaiting approval" in board_html and "<html" not in board_html
    assert "Ready for a look." in client.get(reverse("console:approvals_live")).content.decode()


def test_an_unchanged_poll_costs_few_queries(client, owner, board, django_assert_max_num_queries):
    for number in range(30):
        make_task(board, f"Task {number}")
    client.force_login(owner)
    for url in live_urls(board):
        etag = client.get(url)["ETag"]
        with django_assert_max_num_queries(6):
            assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_pages_point_their_live_region_at_the_fragment(client, owner, board):
    client.force_login(owner)
    assert b'data-live-url="/live/dashboard?' in client.get(reverse("console:dashboard")).content
    assert f'data-live-url="/boards/{board.pk}/live"'.encode() in client.get(
        reverse("console:board", args=[board.pk])).content
    assert b'data-live-url="/approvals/live?' in client.get(reverse("console:approvals")).content


def test_outsiders_and_anonymous_callers_get_no_fragment(client, outsider, board):
    assert client.get(reverse("console:board_live", args=[board.pk])).status_code == 302
    client.force_login(outsider)
    assert client.get(reverse("console:board_live", args=[board.pk])).status_code == 404
