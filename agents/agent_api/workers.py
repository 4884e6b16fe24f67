"""A board lead adds a worker to its own board, within the board's ``max_agents``."""

from __future__ import annotations

from typing import Any

from agents import rules
from agents.models import Agent
from agents.refusals import RuleViolation


def _worker_name(data: Any) -> Any:
    name = data.get("name") if isinstance(data, dict) else None
    unknown = sorted(set(data) - {"name"}) if isinstance(data, dict) else []
    if unknown:
        raise RuleViolation(422, "unknown_field", f"Unknown field: {', '.join(unknown)}.", fields=unknown)
    return name


def create_worker(lead: Agent, data: Any) -> tuple[Agent, str]:
    """A new worker on ``lead``'s board and its token (shown once); the limits are
    ``rules.create_agent``'s, the same as for people adding agents."""
    if lead.board_id is None or not lead.is_board_lead:
        raise RuleViolation(403, "lead_required", "Only a board lead adds workers to its board.")
    name = _worker_name(data)
    board = lead.board
    return rules.create_agent(lead, name=name, board=board,
                              gateway=board.gateway if board.gateway_id else lead.gateway)
