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


def authorization_world(org, owner, board, worker) -> dict[str, Any]:
    """One of every object the authorization matrices call routes on, in ``org``: the board
    in a group, a task, a pending approval, a tag, a custom field of the board, a second
    member, an invitation (``invitation_token``: its link's token), a webhook with a payload."""
    from agents import rules
    from agents.models import BoardGroup, CustomFieldDefinition, Tag
    from tests.conftest import make_task, make_user
    from webhooks.models import Webhook, WebhookPayload

    group = BoardGroup.objects.create(organization=org, name="Web", slug="web")
    board.group = group
    board.save()
    custom_field = CustomFieldDefinition.objects.create(organization=org, field_key="points", label="Points")
    custom_field.boards.add(board)
    invitation, token = rules.create_invitation(owner, org, {"role": "member"})
    webhook = Webhook.objects.create(board=board, description="Deploys")
    return {"group": group, "task": make_task(board, "Write the launch post"),
            "approval": pending_approval(board, make_task(board, "Publish")),
            "tag": Tag.objects.create(organization=org, name="Docs", slug="docs"), "custom_field": custom_field,
            "membership": make_user("bystander", org, "member").memberships.get(), "invitation": invitation,
            "invitation_token": token, "webhook": webhook,
            "payload": WebhookPayload.objects.create(webhook=webhook, board=board, payload={"ref": "main"})}


def routes_with_modules() -> list[tuple[str, str]]:
    """Every URL of the project as ``/path`` with ``{}`` for each parameter, and the module
    of the view that answers it: what the matrices check they list in full."""
    import re

    from django.urls import URLResolver, get_resolver

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                view = getattr(pattern.callback, "view_class", pattern.callback)
                yield "/" + re.sub(r"<[^>]+>", "{}", prefix + str(pattern.pattern)), view.__module__

    return list(walk(get_resolver().url_patterns))


def listed_paths(paths: Any) -> set[str]:
    """Matrix paths (``/api/v1/boards/{board}?x=1``) in the shape of :func:`routes_with_modules`."""
    import re

    return {re.sub(r"\{[a-z_]+\}", "{}", path.split("?")[0]) for path in paths}
