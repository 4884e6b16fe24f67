"""Request bodies the JSON parser cannot read are 400 in the envelope, never a 500."""

from __future__ import annotations

import pytest

from agents.models import Approval, Task
from agents.tokens import mint_token
from missioncontrol.api.parsers import MAX_DEPTH, loads, nesting_depth
from tests.agents.agent_client import agent_client
from tests.agents.api_helpers import assert_refused

pytestmark = pytest.mark.django_db

DEEP = b'{"title":"x","description":' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def assert_parse_error(response) -> None:
    body = assert_refused(response, 400)
    assert body["detail"].startswith("JSON parse error - "), body
    assert Task.objects.count() == 0


def test_a_deeply_nested_body_on_the_user_api_is_a_parse_error(client_for, admin_user, board):
    response = client_for(admin_user).generic("POST", f"/api/v1/boards/{board.pk}/tasks", DEEP,
                                              content_type="application/json")
    assert_parse_error(response)
    assert "deeply nested" in response.json()["detail"]


def test_a_deeply_nested_body_on_the_agent_api_is_a_parse_error(lead, board):
    response = agent_client(mint_token(lead)).generic("POST", f"/api/v1/agent/boards/{board.pk}/tasks", DEEP,
                                                      content_type="application/json")
    assert_parse_error(response)


def test_a_body_that_is_not_utf8_is_a_parse_error(client_for, admin_user, board):
    response = client_for(admin_user).generic("POST", f"/api/v1/boards/{board.pk}/tasks", b'{"title":"\xff"}',
                                              content_type="application/json")
    assert_parse_error(response)


def test_malformed_json_is_still_a_parse_error(client_for, admin_user, board):
    response = client_for(admin_user).generic("POST", f"/api/v1/boards/{board.pk}/tasks", b'{"title":',
                                              content_type="application/json")
    assert_parse_error(response)


def test_ordinary_json_still_parses(client_for, admin_user, board):
    response = client_for(admin_user).post(f"/api/v1/boards/{board.pk}/tasks", {"title": "Plain"}, format="json")
    assert response.status_code == 201 and Task.objects.get().title == "Plain"


def test_an_approval_payload_nested_deeper_than_the_limit_is_a_parse_error(lead, board):
    # Decodes fine, but SQLite's JSON check on the column stops at 1000 levels: refused before saving.
    nested = "[" * 3000 + "]" * 3000
    body = f'{{"action_type":"deploy","confidence":50,"lead_reasoning":"r","payload":{{"a":{nested}}}}}'
    response = agent_client(mint_token(lead)).generic("POST", f"/api/v1/agent/boards/{board.pk}/approvals",
                                                      body.encode(), content_type="application/json")
    body = assert_refused(response, 400)
    assert body["detail"] == f"JSON parse error - the document is nested more than {MAX_DEPTH} levels deep."


def test_a_payload_at_the_depth_limit_is_accepted(lead, board):
    payload: dict = {}
    inner = payload
    for _ in range(MAX_DEPTH - 2):  # the body object and the payload object are two levels
        inner["a"] = {}
        inner = inner["a"]
    assert nesting_depth({"payload": payload}) == MAX_DEPTH
    response = agent_client(mint_token(lead)).post(
        f"/api/v1/agent/boards/{board.pk}/approvals",
        {"action_type": "deploy", "confidence": 50, "lead_reasoning": "r", "payload": payload}, format="json")
    assert response.status_code == 201, response.content


def test_nesting_depth_counts_arrays_and_objects():
    assert nesting_depth(1) == 0
    assert nesting_depth([]) == 1
    assert nesting_depth({"a": [1, {"b": []}], "c": 2}) == 4


APPROVAL = '{"action_type":"deploy","confidence":50,"lead_reasoning":"r","payload":%s}'


@pytest.mark.parametrize(("payload", "detail"), [
    ('{"k":"\\ud800"}', "lone surrogate"),
    ('{"\\udfff":1}', "lone surrogate"),
    ('{"k":"a\\u0000b"}', "NUL character"),
    ('{"a\\u0000":1}', "NUL character"),
    ('{"k":NaN}', "NaN, Infinity"),
    ('{"k":-Infinity}', "NaN, Infinity"),
    ('{"k":1e999}', "NaN, Infinity"),
])
def test_an_approval_payload_that_cannot_be_stored_is_a_parse_error_and_leaves_no_row(lead, board, payload,
                                                                                        detail):
    client = agent_client(mint_token(lead))
    response = client.generic("POST", f"/api/v1/agent/boards/{board.pk}/approvals",
                              (APPROVAL % payload).encode(), content_type="application/json")

    body = assert_refused(response, 400)
    assert body["detail"].startswith("JSON parse error - ") and detail in body["detail"], body
    assert Approval.objects.count() == 0
    assert client.get(f"/api/v1/agent/boards/{board.pk}/approvals").status_code == 200


def test_an_escaped_nul_in_a_task_title_is_a_parse_error(client_for, admin_user, board):
    response = client_for(admin_user).generic("POST", f"/api/v1/boards/{board.pk}/tasks",
                                              b'{"title":"a\\u0000b"}', content_type="application/json")
    assert_parse_error(response)


def test_non_ascii_text_and_escaped_pairs_still_parse(client_for, admin_user, board):
    response = client_for(admin_user).generic("POST", f"/api/v1/boards/{board.pk}/tasks",
                                              '{"title":"caf\u00e9 \\ud83d\\ude00 1.5e3"}'.encode(),
                                              content_type="application/json")
    assert response.status_code == 201, response.content
    assert Task.objects.get().title == "caf\u00e9 \U0001F600 1.5e3"


def test_loads_refuses_what_cannot_be_stored_and_reads_the_rest():
    assert loads('{"a": [1, 2.5, "x"], "b": null}') == {"a": [1, 2.5, "x"], "b": None}
    assert loads("null") is None
    for text in ('"\\ud800"', '"\\u0000"', "NaN", "Infinity", "1e999", "[" * 5000 + "]" * 5000):
        with pytest.raises(ValueError):
            loads(text)
