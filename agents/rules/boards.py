"""Boards: owners and admins of an organization create, change and delete them.

Values arrive with the API's field names, from the user API and the console alike; the
serializer and the form only check types, so both surfaces get the same sentences here.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.text import slugify

from agents import access, activity
from agents.gateway import cleanup, events
from agents.models import BOARD_RULE_FLAGS, Agent, Board, Gateway, Organization, User
from agents.refusals import RuleViolation
from agents.rules import groups
from agents.rules.inputs import (
    aware_datetime,
    choice,
    flag,
    name_text,
    optional_text,
    slug_text,
    unknown_fields,
    uuid_value,
)
from agents.rules.unique import check_slug_free, save_unique

GOAL_FIELDS = ("board_type", "success_metrics", "target_date", "goal_confirmed")
BOARD_FIELDS = ("name", "slug", "description", "objective", *GOAL_FIELDS, "gateway_id", "board_group_id",
                "max_agents", *BOARD_RULE_FLAGS)
SUCCESS_METRICS_MAX_KEYS = 50
SUCCESS_METRICS_MAX_BYTES = 10_000
NAME_MAX_LENGTH = 200
MAX_AGENTS_LIMIT = 1000
SLUG_TAKEN = ("board_slug_taken", "Another board of this organization already uses this short name (slug).")


def _gateway(value: Any, organization_id: Any) -> Gateway | None:
    if value is None or value == "":
        return None
    gateway = Gateway.objects.filter(pk=uuid_value(value, "gateway_id"), organization_id=organization_id).first()
    if gateway is None:
        raise RuleViolation(422, "gateway_not_in_organization", "No such gateway in this organization.",
                            field="gateway_id")
    return gateway


def _max_agents(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_AGENTS_LIMIT:
        raise RuleViolation(422, "max_agents_out_of_range",
                            f"max_agents must be a whole number from 1 to {MAX_AGENTS_LIMIT}.", field="max_agents")
    return value


def _success_metrics(value: Any) -> dict[str, Any]:
    """An object of metric names to their targets (texts, numbers, lists...); null clears it."""
    if value is None:
        return {}

    def invalid(message: str) -> RuleViolation:
        return RuleViolation(422, "invalid_success_metrics", message, field="success_metrics")

    if not isinstance(value, dict):
        raise invalid('success_metrics must be an object of metric names to targets, like {"signups": 100}.')
    if len(value) > SUCCESS_METRICS_MAX_KEYS:
        raise invalid(f"success_metrics has at most {SUCCESS_METRICS_MAX_KEYS} metrics.")
    if any(not isinstance(key, str) or not key.strip() for key in value):
        raise invalid("Each success metric needs a name.")
    if len(json.dumps(value, ensure_ascii=False)) > SUCCESS_METRICS_MAX_BYTES:
        raise invalid(f"success_metrics has at most {SUCCESS_METRICS_MAX_BYTES} characters of JSON.")
    return {key.strip(): metric for key, metric in value.items()}


def _target_date(value: Any) -> datetime | None:
    """An ISO 8601 date and time; a bare date (YYYY-MM-DD) is its midnight UTC."""
    try:
        return aware_datetime(value, "target_date")
    except ValueError:  # well-formed but impossible, like 2026-02-30T10:00
        raise RuleViolation(422, "invalid_target_date", "target_date must be an ISO 8601 date and time.",
                            field="target_date") from None


def _check_goal(values: dict[str, Any], board: Board | None = None) -> None:
    """A confirmed goal needs what it is (the objective) and how it is measured (its metrics)."""
    def current(name: str, default: Any) -> Any:
        return values[name] if name in values else getattr(board, name, default)

    if current("board_type", Board.BoardType.GOAL) != Board.BoardType.GOAL or not current("goal_confirmed", False):
        return
    missing = "objective" if not current("objective", "").strip() else (
        "success_metrics" if not current("success_metrics", {}) else None)
    if missing:
        raise RuleViolation(422, "goal_incomplete",
                            "A confirmed goal board needs an objective and at least one success metric.",
                            field=missing)


def _values(data: dict[str, Any], organization_id: Any) -> dict[str, Any]:
    """Model-side values for the fields present in ``data`` (``gateway_id`` becomes ``gateway``,
    ``board_group_id`` ``group``)."""
    unknown_fields(data, BOARD_FIELDS, "board")
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = name_text(data["name"], what="A board", max_length=NAME_MAX_LENGTH)
    if data.get("slug") not in (None, ""):
        out["slug"] = slug_text(data["slug"], max_length=NAME_MAX_LENGTH)
    for name in ("description", "objective"):
        if name in data:
            out[name] = optional_text(data[name], name)
    if "board_type" in data:
        out["board_type"] = choice(data["board_type"], Board.BoardType, "board_type")
    if "success_metrics" in data:
        out["success_metrics"] = _success_metrics(data["success_metrics"])
    if "target_date" in data:
        out["target_date"] = _target_date(data["target_date"])
    if "goal_confirmed" in data:
        out["goal_confirmed"] = flag(data["goal_confirmed"], "goal_confirmed")
    if "gateway_id" in data:
        out["gateway"] = _gateway(data["gateway_id"], organization_id)
    if "board_group_id" in data:
        out["group"] = groups.group_in(organization_id, data["board_group_id"])
    if "max_agents" in data:
        out["max_agents"] = _max_agents(data["max_agents"])
    for name in BOARD_RULE_FLAGS:
        if name in data:
            out[name] = flag(data[name], name)
    return out


def create_board(user: User, organization: Organization, data: dict[str, Any]) -> Board:
    """A new board in ``organization``; its slug defaults to one made from the name."""
    access.require_admin(user, organization)
    values = _values({"name": None, **data}, organization.pk)
    values.setdefault("slug", slugify(values["name"])[:NAME_MAX_LENGTH] or "board")
    _check_goal(values)
    check_slug_free(Board, organization.pk, values["slug"], SLUG_TAKEN)

    def create() -> Board:
        board = Board.objects.create(organization=organization, **values)
        activity.record("board.created", actor=user, board=board, message=f"Board {board.name} created")
        if board.group is not None:
            groups.board_joined(user, board, board.group, None)
        return board

    return save_unique(*SLUG_TAKEN, create)


def update_board(user: User, board: Board, data: dict[str, Any]) -> Board:
    """Change a board's fields and rules; the event names the fields that changed."""
    access.require_admin(user, board.organization_id)
    values = _values(data, board.organization_id)
    _check_goal(values, board)
    if "slug" in values:
        check_slug_free(Board, board.organization_id, values["slug"], SLUG_TAKEN, board)
    api_names = {"gateway": "gateway_id", "group": "board_group_id"}
    changed = sorted(api_names.get(name, name) for name, value in values.items() if getattr(board, name) != value)
    previous_group = board.group if "group" in values else None
    for name, value in values.items():
        setattr(board, name, value)

    def save() -> None:
        board.save()
        activity.record("board.updated", actor=user, board=board, message=f"Board {board.name} changed",
                        data={"fields": changed})
        # A move between groups has its own message (``groups.board_joined``).
        events.board_changed(user, board, [name for name in changed if name != "board_group_id"])
        if "board_group_id" in changed:
            groups.board_joined(user, board, board.group, previous_group)

    if changed:
        save_unique(*SLUG_TAKEN, save)
    return board


def delete_board(user: User, board: Board) -> None:
    """Remove a board with its tasks, agents and memory; its activity stays (events keep plain
    ids). Its agents are removed from their gateway by the worker."""
    access.require_admin(user, board.organization_id)
    with transaction.atomic():
        for agent in Agent.objects.filter(board=board, gateway__isnull=False):
            cleanup.schedule(agent)
        activity.record("board.deleted", actor=user, board=board, message=f"Board {board.name} deleted")
        board.delete()
