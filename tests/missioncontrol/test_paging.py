"""Paging parameters on every list: out-of-range values are 422, never a database error."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIRequestFactory

from agents.tokens import mint_token
from missioncontrol.api.pagination import MAX_OFFSET, parse_paging
from tests.agents.agent_client import agent_client
from tests.agents.api_helpers import assert_refused
from tests.conftest import make_task

HUGE_OFFSETS = ["999999999999999999999", str(2**63), str(2**63 - 1), str(MAX_OFFSET + 1)]


def paging(query: str) -> tuple[int, int]:
    from rest_framework.request import Request

    return parse_paging(Request(APIRequestFactory().get("/x?" + query)))


def test_the_largest_offset_allowed_is_accepted():
    assert paging(f"offset={MAX_OFFSET}") == (200, MAX_OFFSET)


@pytest.mark.parametrize("offset", HUGE_OFFSETS)
def test_an_offset_beyond_the_maximum_is_refused(offset):
    with pytest.raises(ValidationError) as refused:
        paging(f"offset={offset}")
    assert "offset" in refused.value.detail


def test_a_huge_limit_is_refused_without_converting_it_to_a_database_value():
    with pytest.raises(ValidationError) as refused:
        paging("limit=" + "9" * 30)
    assert "limit" in refused.value.detail


@pytest.mark.django_db
@pytest.mark.parametrize("offset", HUGE_OFFSETS)
def test_a_huge_offset_on_a_user_list_is_422_in_the_envelope(client_for, admin_user, board, offset):
    make_task(board)
    response = client_for(admin_user).get(f"/api/v1/boards/{board.pk}/tasks?limit=200&offset={offset}")
    body = assert_refused(response, 422)
    assert "offset" in body["detail"]


@pytest.mark.django_db
def test_a_huge_offset_on_the_activity_list_is_422(client_for, admin_user):
    response = client_for(admin_user).get(f"/api/v1/activity?offset={2**63}")
    assert "offset" in assert_refused(response, 422)["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("offset", HUGE_OFFSETS)
def test_a_huge_offset_on_an_agent_list_is_422_in_the_envelope(worker, board, offset):
    make_task(board)
    response = agent_client(mint_token(worker)).get(f"/api/v1/agent/boards/{board.pk}/tasks?offset={offset}")
    assert "offset" in assert_refused(response, 422)["detail"]
