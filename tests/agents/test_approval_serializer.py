"""ApprovalSerializer writes its fields directly; it must say what DRF's fields would."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from agents.models import Approval, ApprovalTask
from agents.queries import approval_queryset
from agents.serializers import ApprovalSerializer
from tests.conftest import make_agent, make_task


def as_sent(data):
    return json.loads(JSONRenderer().render(data))


def by_fields(approval):
    """The answer of the declared fields through DRF's own machinery, as the client reads it."""
    return as_sent(serializers.ModelSerializer.to_representation(ApprovalSerializer(), approval))


@pytest.mark.django_db
def test_every_kind_of_approval_reads_as_its_fields_say(board):
    agent = make_agent("Lead", board=board, lead=True)
    first, second = make_task(board, "First"), make_task(board, "Second \u00e9 \"quoted\"")
    linked = Approval.objects.create(
        board=board, agent=agent, action_type="mark_done", confidence=87, status="approved",
        payload={"reason": "tests pass", "nested": {"list": [1, None, "x"]}, "none": None, "n": 2},
        rubric_scores={"quality": 4, "risk": 1}, lead_reasoning="Looks right.",
        resolved_at=datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC))
    for task in (second, first):
        ApprovalTask.objects.create(approval=linked, task=task, is_pending=False)
    about_the_board = Approval.objects.create(board=board, action_type="board_change", confidence=0)
    answers = {approval.pk: approval for approval in approval_queryset(Approval.objects.filter(board=board))}
    assert len(answers) == 2
    for approval in answers.values():
        assert as_sent(ApprovalSerializer(approval).data) == by_fields(approval)
    linked_answer = ApprovalSerializer(answers[linked.pk]).data
    assert linked_answer["task_ids"] == [str(second.pk), str(first.pk)]
    assert linked_answer["task_titles"] == ["Second \u00e9 \"quoted\"", "First"]
    assert linked_answer["resolved_at"] == "2026-06-01T08:00:00Z"
    board_answer = ApprovalSerializer(answers[about_the_board.pk]).data
    assert (board_answer["task_id"], board_answer["agent_id"], board_answer["payload"]) == (None, None, {})
