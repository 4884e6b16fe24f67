"""insert_rows: several new rows of different tables in one go."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from agents.models import BoardMemory
from webhooks.models import WebhookDelivery, WebhookPayload
from webhooks.rows import insert_rows

pytestmark = pytest.mark.django_db


def new_rows(webhook):
    payload = WebhookPayload(webhook=webhook, board_id=webhook.board_id, payload={"a": [1, "é"]},
                             headers={"x-event": "push"})
    note = BoardMemory(board_id=webhook.board_id, content="note", tags=["webhook"])
    delivery = WebhookDelivery(payload=payload)
    return payload, note, delivery


def test_rows_of_several_tables_are_stored_as_save_would_store_them(webhook):
    payload, note, delivery = new_rows(webhook)

    insert_rows([payload, note, delivery])

    stored = WebhookPayload.objects.get()
    assert stored.pk == payload.pk and stored.payload == {"a": [1, "é"]} and stored.headers == {"x-event": "push"}
    assert BoardMemory.objects.get().tags == ["webhook"]
    row = WebhookDelivery.objects.get()
    assert row.payload_id == payload.pk and row.status == "pending" and row.updated_at is not None
    assert not payload._state.adding


def test_on_postgres_they_travel_in_one_statement(webhook, django_assert_num_queries):
    if connection.vendor != "postgresql":
        pytest.skip("one statement is a Postgres feature; other databases insert row by row")
    with django_assert_num_queries(1):
        insert_rows(list(new_rows(webhook)))


def stamp_of(scope):
    from agents.models import ChangeStamp

    return ChangeStamp.objects.filter(scope=scope).values_list("version", flat=True).first() or 0


def test_the_statement_that_comes_with_them_runs_with_them(webhook, django_assert_num_queries):
    """``also`` (here the live stamps' upsert) is part of the same write: in the one statement
    on Postgres, right after the inserts elsewhere, and undone with them."""
    from agents import live

    scopes = live.scopes_of(board_id=webhook.board_id, organization_id=webhook.board.organization_id)
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 4):
        insert_rows(list(new_rows(webhook)), also=live.bump_statement(scopes))
    assert [stamp_of(scope) for scope in scopes] == [1, 1]
    assert WebhookPayload.objects.count() == 1 and BoardMemory.objects.count() == 1

    payload, note, delivery = new_rows(webhook)
    WebhookPayload.objects.create(pk=payload.pk, webhook=webhook, board_id=webhook.board_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows([note, payload, delivery], also=live.bump_statement(scopes))
    assert [stamp_of(scope) for scope in scopes] == [1, 1]

    insert_rows(list(new_rows(webhook)), also=live.bump_statement(scopes))
    assert [stamp_of(scope) for scope in scopes] == [2, 2]


def test_a_refused_row_leaves_none_of_them(webhook):
    payload, note, delivery = new_rows(webhook)
    WebhookPayload.objects.create(pk=payload.pk, webhook=webhook, board_id=webhook.board_id)

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows([note, payload, delivery])

    assert not BoardMemory.objects.exists()
    assert not WebhookDelivery.objects.exists()



def test_the_statement_compiled_once_is_the_one_the_compiler_writes_for_these_rows(webhook, monkeypatch):
    """The plan kept per sequence of models gives exactly the SQL and parameters that
    Django's insert compiler writes for the same objects (webhooks.rows._compiled)."""
    from django.utils import timezone

    from webhooks.rows import _compiled, _plain_values, _plan

    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)  # auto_now fields: the same time for both

    objects = list(new_rows(webhook))
    plan = _plan("default", tuple(type(obj) for obj in objects))
    assert plan is not None
    assert plan.sql == _compiled(objects, "default")[0]
    # psycopg's Jsonb wrappers compare by identity: compare what they wrap.
    def comparable(values):
        return [(type(value), getattr(value, "obj", value)) for value in values]

    assert comparable(_plain_values(plan, objects, connection)) == comparable(_compiled(objects, "default")[1])


def test_a_value_that_is_an_expression_is_compiled_each_time(webhook):
    from django.db.models.functions import Now

    from webhooks.rows import _plain_values, _plan

    payload, note, delivery = new_rows(webhook)
    note.created_at = Now()
    objects = [payload, note, delivery]
    plan = _plan("default", tuple(type(obj) for obj in objects))
    assert plan is not None and _plain_values(plan, objects, connection) is None
    if connection.vendor == "postgresql":
        insert_rows(objects)
        assert BoardMemory.objects.get().created_at is not None
