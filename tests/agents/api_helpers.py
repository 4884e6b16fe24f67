"""Helpers shared by the user API tests (tests/agents/test_api_*.py)."""

from __future__ import annotations

from typing import Any

from agents.models import Approval, ApprovalTask


def assert_refused(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The answer is the error envelope with ``status`` (and the rule's ``code``)."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail", "request_id"}, body
    if code is not None:
        assert isinstance(body["detail"], dict) and body["detail"].get("code") == code, body
    return body


def pending_approval(board, task, **fields) -> Approval:
    approval = Approval.objects.create(board=board, action_type="mark_done", confidence=80,
                                       lead_reasoning="Ready", **fields)
    ApprovalTask.objects.create(approval=approval, task=task, is_pending=approval.status == "pending")
    return approval


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]
