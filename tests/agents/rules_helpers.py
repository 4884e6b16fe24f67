from __future__ import annotations

from contextlib import contextmanager

import pytest

from agents.models import Approval, ApprovalTask
from agents.refusals import RuleViolation


@contextmanager
def refused(status: int, code: str):
    """Asserts the block raises a RuleViolation with this status and code."""
    with pytest.raises(RuleViolation) as caught:
        yield caught
    assert (caught.value.status_code, caught.value.detail["code"]) == (status, code)
    assert caught.value.detail["message"]


def approve(task, state: str = Approval.Status.APPROVED, action_type: str = Approval.FINISH_ACTION) -> Approval:
    """An approval linked to ``task`` in the given state, made without the rules."""
    approval = Approval.objects.create(board=task.board, action_type=action_type, status=state,
                                       lead_reasoning="done", confidence=90)
    ApprovalTask.objects.create(approval=approval, task=task, is_pending=state == Approval.Status.PENDING)
    return approval
