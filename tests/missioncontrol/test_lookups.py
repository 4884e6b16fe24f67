"""Reading ids from requests: a malformed id is as unknown as a missing one."""

from __future__ import annotations

import uuid

import pytest
from django.http import Http404

from agents.models import Board
from missioncontrol.lookups import first_or_none, get_or_404, parse_uuid


@pytest.mark.parametrize("value", [None, "", "not-a-uuid", "1234", 42, "0" * 33, object()])
def test_what_is_not_a_uuid_parses_as_none(value):
    assert parse_uuid(value) is None


def test_a_uuid_parses_in_any_of_its_spellings():
    value = uuid.uuid4()
    assert parse_uuid(value) is value
    assert parse_uuid(str(value)) == value == parse_uuid(value.hex) == parse_uuid(str(value).upper())


@pytest.mark.django_db
def test_get_or_404_finds_the_object_and_refuses_unknown_and_malformed_ids(board):
    assert get_or_404(Board.objects.all(), str(board.pk)) == board
    for wrong in (uuid.uuid4(), "nope", None):
        with pytest.raises(Http404):
            get_or_404(Board.objects.all(), wrong)
        assert first_or_none(Board.objects.all(), wrong) is None
