"""A board lead adds a worker to its own board, within the board's ``max_agents``."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from agents import activity
from agents.models import Agent, Board
from agents.refusals import RuleViolation
from agents.tokens import mint_token


def _worker_name(data: Any) -> str:
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise RuleViolation(422, "agent_name_required", "A worker needs a name.", field="name")
    name = name.strip()
    if len(name) > 200:
        raise RuleViolation(422, "agent_name_too_long", "A name has at most 200 characters.", field="name")
    unknown = sorted(set(data) - {"name"})
    if unknown:
        raise RuleViolation(422, "unknown_field", f"Unknown field: {', '.join(unknown)}.", fields=unknown)
    return name


def create_worker(lead: Agent, data: Any) -> tuple[Agent, str]:
    """A new worker on ``lead``'s board and its token (shown once). 409 when the board is
    full or already has an agent of that name."""
    if lead.board_id is None or not lead.is_board_lead:
        raise RuleViolation(403, "lead_required", "Only a board lead adds workers to its board.")
    name = _worker_name(data)
    with transaction.atomic():
        # The board row lock serializes concurrent creates, so two cannot both take the last seat.
        board = Board.objects.select_for_update().get(pk=lead.board_id)
        count = Agent.objects.filter(board=board).count()
        if count >= board.max_agents:
            raise RuleViolation(409, "board_full",
                                f"The board already has {count} agents, its maximum of {board.max_agents}.",
                                max_agents=board.max_agents)
        if Agent.objects.filter(board=board, name__iexact=name).exists():
            raise RuleViolation(409, "agent_name_taken", f"The board already has an agent named {name!r}.")
        try:
            with transaction.atomic():
                worker = Agent(name=name, board=board, organization_id=board.organization_id,
                               gateway_id=board.gateway_id or lead.gateway_id, is_board_lead=False)
                token = mint_token(worker)
        except IntegrityError as exc:
            raise RuleViolation(409, "agent_name_taken",
                                f"The board already has an agent named {name!r}.") from exc
        activity.record("agent.created", actor=lead, board=board, agent=worker,
                        message=f"{lead.name} added the worker {worker.name}.",
                        data={"name": worker.name, "is_board_lead": False})
    return worker, token
