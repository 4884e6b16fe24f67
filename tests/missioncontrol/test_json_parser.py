"""Request bodies the JSON parser cannot read are 400 in the envelope, never a 500."""

from __future__ import annotations

import pytest

from agents.models import Task
from agents.tokens import mint_token
from missioncontrol.api.parsers import MAX_DEPTH, nesting_depth
from tests.agents.agent_client import agent_client, fresh_rate_limits  # noqa: F401
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
