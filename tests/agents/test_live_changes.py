"""Change stamps and the change question (agents.live): what an open console page polls."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from agents import activity, live, presence
from agents.models import Agent, ChangeStamp
from tests.conftest import make_task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("console_static")]


def stamp(scope: str) -> int:
    row = ChangeStamp.objects.filter(scope=scope).first()
    return row.version if row else 0


def ask(client, ticket: str, version: str | None = None):
    query = {"t": ticket} if version is None else {"t": ticket, "v": version}
    return client.get(live.PATH, query)


def ticket_of(html: str) -> str:
    match = re.search(r'data-live-ticket="([^"]+)"', html)
    assert match, "the page has no live ticket"
    return unescape(match.group(1))


def test_an_event_moves_its_board_and_organization_on_after_the_commit(board):
    board_scope, org_scope = live.board_scope(board.pk), live.organization_scope(board.organization_id)
    with transaction.atomic():
        activity.record("task.created", actor=None, board=board, message="One.")
        activity.record("task.updated", actor=None, board=board, message="Two.")
        # Not before the commit: a page asking now must not fetch what it cannot see yet.
        assert stamp(board_scope) == 0
    # Once per transaction, however many events it wrote.
    assert (stamp(board_scope), stamp(org_scope)) == (1, 1)
    activity.record("task.updated", actor=None, board=board, message="Three.")
    assert (stamp(board_scope), stamp(org_scope)) == (2, 2)


def test_a_rolled_back_change_moves_nothing(board):
    scope = live.board_scope(board.pk)
    with pytest.raises(RuntimeError), transaction.atomic():
        activity.record("task.created", actor=None, board=board, message="Gone.")
        raise RuntimeError("rolled back")
    assert stamp(scope) == 0


def test_the_version_sums_its_scopes_and_counts_unknown_ones_as_zero(board, other_board):
    a, b = live.board_scope(board.pk), live.board_scope(other_board.pk)
    assert live.version([a, b]) == "0"
    live.bump([a])
    live.bump([a, b])
    assert (live.version([a]), live.version([b]), live.version([a, b])) == ("2", "1", "3")


def test_a_ticket_holds_its_scopes_until_it_expires(board):
    scopes = [live.board_scope(board.pk)]
    ticket = live.ticket(scopes, now=1_000_000)
    assert live.read_ticket(ticket, now=1_000_000 + live.TICKET_SECONDS - 1) == scopes
    with pytest.raises(live.BadTicket, match="expired"):
        live.read_ticket(ticket, now=1_000_000 + live.TICKET_SECONDS + 1)
    forged = ticket.replace(scopes[0], live.board_scope("00000000-0000-0000-0000-000000000001"))
    with pytest.raises(live.BadTicket, match="not valid"):
        live.read_ticket(forged)
    with pytest.raises(live.BadTicket, match="nothing"):
        live.read_ticket(live.ticket([]))


def test_the_question_answers_204_until_something_changes(client, board, django_assert_num_queries):
    ticket = live.ticket([live.board_scope(board.pk)])
    first = ask(client, ticket)
    assert first.status_code == 200 and first.content == b"0"
    assert first["Cache-Control"] == "no-store"
    # No session, no user: one SELECT.
    with django_assert_num_queries(1):
        assert ask(client, ticket, "0").status_code == 204
    make_task(board, "New")  # a model write alone is not an event
    assert ask(client, ticket, "0").status_code == 204
    activity.record("task.created", actor=None, board=board, message="Created.")
    changed = ask(client, ticket, "0")
    assert changed.status_code == 200 and changed.content == b"1"


def test_a_bad_ticket_or_method_gets_a_json_refusal(client, board):
    expired = live.ticket([live.board_scope(board.pk)], now=0)
    for ticket in ["", "nonsense", expired]:
        response = ask(client, ticket)
        assert response.status_code == 410
        assert response["Content-Type"] == "application/json"
        assert response.json()["detail"].startswith("The live ticket")
    posted = client.post(live.PATH + "?t=" + live.ticket([live.board_scope(board.pk)]))
    assert posted.status_code == 405 and posted["Allow"] == "GET, HEAD"


def test_the_question_answers_503_while_the_database_is_away(client, board, monkeypatch):
    from django.db import OperationalError

    def away(scopes, **options):
        raise OperationalError("connection refused")

    monkeypatch.setattr(live, "version", away)
    response = ask(client, live.ticket([live.board_scope(board.pk)]))
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "database" in response.json()["detail"]


def test_a_failed_bump_is_logged_once_and_the_change_still_stands(board, monkeypatch, caplog):
    real_sql = live._upsert_sql
    monkeypatch.setattr(live, "_upsert_sql", lambda vendor, count: "INSERT INTO no_such_table VALUES (%s)")
    with caplog.at_level(logging.INFO, logger="agents.live"):
        for n in range(3):
            with transaction.atomic():
                event = activity.record("task.created", actor=None, board=board, message=f"Kept {n}.")
        assert type(event).objects.filter(pk=event.pk).exists()
        failures = [record for record in caplog.records if "next full check" in record.getMessage()]
        # One line for the whole streak, without a traceback (an outage is not a bug).
        assert len(failures) == 1 and failures[0].exc_info is None
        monkeypatch.setattr(live, "_upsert_sql", real_sql)
        activity.record("task.created", actor=None, board=board, message="Back.")
    assert "move again" in caplog.text
    assert stamp(live.board_scope(board.pk)) == 1


def test_a_board_page_ticket_sees_a_change_made_through_the_api(client, api_client, owner, board, worker):
    from agents.tokens import assign_new_token

    task = make_task(board, "Watched", assigned_agent=worker)
    client.force_login(owner)
    ticket = ticket_of(client.get(reverse("console:board", args=[board.pk])).content.decode())
    before = ask(client, ticket).content.decode()
    token = assign_new_token(worker)
    worker.save()
    answer = api_client.patch(f"/api/v1/agent/boards/{board.pk}/tasks/{task.pk}", {"status": "in_progress"},
                              format="json", HTTP_X_AGENT_TOKEN=token)
    assert answer.status_code == 200, answer.content
    after = ask(client, ticket, before)
    assert after.status_code == 200 and int(after.content) > int(before)


def test_every_live_page_and_fragment_hands_out_a_ticket_for_its_scopes(client, owner, board, worker, gateway):
    client.force_login(owner)
    board_scope, org_scope = live.board_scope(board.pk), live.organization_scope(board.organization_id)
    pages = {
        reverse("console:board", args=[board.pk]): ({board_scope}, reverse("console:board_live", args=[board.pk])),
        reverse("console:dashboard"): ({org_scope}, reverse("console:dashboard_live")),
        reverse("console:approvals"): ({org_scope}, reverse("console:approvals_live")),
        reverse("console:agent", args=[worker.pk]): ({board_scope, org_scope},
                                                     reverse("console:agent_live", args=[worker.pk])),
        reverse("console:gateway", args=[gateway.pk]): ({org_scope}, reverse("console:gateway_live", args=[gateway.pk])),
    }
    for url, (scopes, fragment_url) in pages.items():
        assert set(live.read_ticket(ticket_of(client.get(url).content.decode()))) == scopes, url
        fragment = client.get(fragment_url)
        assert set(live.read_ticket(fragment["X-Live-Ticket"])) == scopes, fragment_url
        unchanged = client.get(fragment_url, HTTP_IF_NONE_MATCH=fragment["ETag"])
        assert unchanged.status_code == 304
        assert set(live.read_ticket(unchanged["X-Live-Ticket"])) == scopes, fragment_url


def test_an_ingested_event_moves_its_board_on(client, board):
    from webhooks.models import Webhook

    webhook = Webhook.objects.create(board=board, description="Events.")
    scopes = [live.board_scope(board.pk), live.organization_scope(board.organization_id)]
    before = [stamp(scope) for scope in scopes]
    response = client.post(webhook.endpoint_path, {"hello": "world"}, content_type="application/json")
    assert response.status_code == 202
    assert [stamp(scope) for scope in scopes] == [version + 1 for version in before]


def test_an_agent_coming_back_online_moves_its_pages_on_but_a_refresh_does_not(board):
    agent = Agent.objects.create(organization=board.organization, board=board, name="Returner",
                                 last_seen_at=timezone.now() - timedelta(hours=1))
    scope = live.board_scope(board.pk)
    presence.mark_seen(agent)
    assert stamp(scope) == 1
    presence.mark_seen(agent, now=timezone.now() + presence.SEEN_REFRESH + timedelta(seconds=1))
    assert stamp(scope) == 1


def test_activity_memory_and_agents_pages_are_live(client, owner, board, worker, django_assert_max_num_queries):
    from agents import rules

    client.force_login(owner)
    fragments = {
        reverse("console:activity"): reverse("console:activity_live"),
        reverse("console:board_memory", args=[board.pk]): reverse("console:board_memory_live", args=[board.pk]),
        reverse("console:agents"): reverse("console:agents_live"),
    }
    etags = {}
    for url, fragment_url in fragments.items():
        html = client.get(url).content.decode()
        assert f'data-live-url="{fragment_url}?' in html, url
        etag = re.search(r'data-etag="([^"]+)"', html).group(1)
        etags[fragment_url] = unescape(etag)
        with django_assert_max_num_queries(4):
            unchanged = client.get(fragment_url, HTTP_IF_NONE_MATCH=etags[fragment_url])
        assert unchanged.status_code == 304, fragment_url

    rules.create_memory(owner, board, {"content": "Standup moved to ten", "tags": ["chat"], "source": "console"})
    rules.update_agent(owner, worker, {"name": "Renamed worker"})
    expected = {reverse("console:activity_live"): "Renamed worker",
                reverse("console:board_memory_live", args=[board.pk]): "Standup moved to ten",
                reverse("console:agents_live"): "Renamed worker"}
    for fragment_url, text in expected.items():
        changed = client.get(fragment_url, HTTP_IF_NONE_MATCH=etags[fragment_url])
        assert changed.status_code == 200, fragment_url
        body = changed.content.decode()
        assert text in body and "<html" not in body, fragment_url


def test_the_pages_ask_as_often_as_the_server_and_the_benchmark_assume():
    from pathlib import Path

    script = (Path(__file__).resolve().parents[2] / "static" / "console" / "console.js").read_text()
    assert f'getAttribute("data-live-interval") || "{int(live.POLL_SECONDS * 1000)}"' in script
    assert f'getAttribute("data-live-full-interval") || "{live.FULL_CHECK_SECONDS * 1000}"' in script
    assert f'"{live.PATH}?t="' in script


@pytest.mark.postgres
def test_a_connection_the_server_ended_is_replaced_before_the_question(client, board):
    """The backend's health check costs no statement, so the change question has it too."""
    from django.db import close_old_connections, connection

    from tests.conftest import end_backend_of, require_postgres

    require_postgres()
    ticket = live.ticket([live.board_scope(board.pk)])
    assert ask(client, ticket).status_code == 200
    end_backend_of(connection)
    # What the WSGI handler does between two requests (the test client leaves it out).
    close_old_connections()
    assert ask(client, ticket).status_code == 200


@pytest.mark.postgres
def test_a_connection_lost_unseen_fails_one_question_and_the_next_one_reconnects(client, board):
    """A connection whose loss the socket does not show (a peer gone without a word) fails the
    question it was asked: a 503 with a time to wait, and the next question reconnects."""
    from unittest import mock

    from django.db import close_old_connections, connection

    from tests.conftest import end_backend_of, require_postgres

    require_postgres()
    ticket = live.ticket([live.board_scope(board.pk)])
    assert ask(client, ticket).status_code == 200
    end_backend_of(connection)
    close_old_connections()
    with mock.patch.object(connection, "is_quiet", return_value=True):
        refused = ask(client, ticket)
    assert refused.status_code == 503 and refused["Retry-After"] == "5"
    close_old_connections()
    assert ask(client, ticket).status_code == 200


def test_the_task_page_and_drawer_are_live_with_named_parts(client, owner, board):
    from agents import rules

    task = rules.create_task(owner, board, {"title": "Watched closely"})
    client.force_login(owner)
    task_url = reverse("console:task", args=[board.pk, task.pk])
    live_url = reverse("console:task_live", args=[board.pk, task.pk])
    for headers, url in (({}, live_url), ({"HTTP_HX_REQUEST": "true"}, live_url + "?in=drawer")):
        html = client.get(task_url, **headers).content.decode()
        assert f'data-live-url="{url}"' in html
        for part in ("head", "change", "details", "description", "comments", "relations", "approvals"):
            assert f'data-live-part="{part}"' in html, part
        etag = unescape(re.search(r'data-etag="([^"]+)"', html).group(1))
        assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
        # A comment (from anyone, anywhere) changes what the task shows.
        rules.add_comment(owner, task, f"Seen from {url}")
        changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
        assert changed.status_code == 200
        body = changed.content.decode()
        assert f"Seen from {url}" in body and "<html" not in body
        # The drawer's parts post into the drawer; the page's post as plain forms.
        assert ('hx-target="#task-drawer-body"' in body) == url.endswith("drawer")
        assert "History" not in body


def test_a_renamed_or_deleted_tag_reaches_the_open_boards_that_show_it(client, owner, board, other_board):
    from agents import rules
    from agents.models import Tag

    tag = Tag.objects.create(organization=board.organization, name="Backend", slug="backend", color="22aa22")
    rules.create_task(owner, board, {"title": "Tagged", "tag_ids": [str(tag.pk)]})
    client.force_login(owner)
    fragment_url = reverse("console:board_live", args=[board.pk])
    etag = client.get(fragment_url)["ETag"]
    shown, elsewhere = stamp(live.board_scope(board.pk)), stamp(live.board_scope(other_board.pk))

    rules.update_tag(owner, tag, {"name": "Server side"})
    assert stamp(live.board_scope(board.pk)) == shown + 1
    assert stamp(live.board_scope(other_board.pk)) == elsewhere  # its cards do not show the tag
    renamed = client.get(fragment_url, HTTP_IF_NONE_MATCH=etag)
    assert renamed.status_code == 200 and "Server side" in renamed.content.decode()

    rules.delete_tag(owner, tag)
    assert stamp(live.board_scope(board.pk)) == shown + 2
    gone = client.get(fragment_url, HTTP_IF_NONE_MATCH=renamed["ETag"])
    assert gone.status_code == 200 and "Server side" not in gone.content.decode()
