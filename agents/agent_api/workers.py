"""A board lead adds a worker to its own board, within the board's ``max_agents``."""

from __future__ import annotations

from typing import Any

from agents import rules
from agents.agent_api.base import parse_uuid
from agents.models import Agent
from agents.refusals import RuleViolation


def _check_body(lead: Agent, data: Any) -> None:
    """Other keys (older agents send ``status``, ``heartbeat_config``... too) are ignored, except
    a ``board_id`` that is not the lead's own board and a request for a second lead."""
    if not isinstance(data, dict):
        raise RuleViolation(422, "invalid_body", "Send a JSON object.")
    board_id = data.get("board_id")
    if board_id is not None:
        parsed = parse_uuid(board_id)
        if parsed is None:
            raise RuleViolation(422, "invalid_board_id", "board_id must be a UUID.", field="board_id")
        if parsed != lead.board_id:
            raise RuleViolation(403, "board_out_of_reach", "A lead adds workers to its own board only.")
    if data.get("is_board_lead"):
        raise RuleViolation(422, "workers_only", "A lead adds workers; the board's lead is chosen by people.",
                            field="is_board_lead")


def create_worker(lead: Agent, data: Any) -> tuple[Agent, str]:
    """A new worker on ``lead``'s board and its token (shown once); the limits are
    ``rules.create_agent``'s, the same as for people adding agents."""
    if lead.board_id is None or not lead.is_board_lead:
        raise RuleViolation(403, "lead_required", "Only a board lead adds workers to its board.")
    _check_body(lead, data)
    board = lead.board
    return rules.create_agent(lead, name=data.get("name"), board=board,
                              gateway=board.gateway if board.gateway_id else lead.gateway)
