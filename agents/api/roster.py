"""People adding, changing and removing agents (admins of the agent's organization).

The same limits as a lead adding a worker hold here: a board has at most ``max_agents``
agents, names are unique on a board, a board has one lead and a gateway one main agent.
Each refusal is a ``RuleViolation`` with a stable code; each change writes one event.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from agents import access, activity, rules
from agents.models import Agent, Board, Gateway, User
from agents.refusals import RuleViolation
from agents.tokens import mint_token


def _gateway_in(org_id: Any, gateway_id: Any) -> Gateway:
    gateway = Gateway.objects.filter(pk=gateway_id, organization_id=org_id).first()
    if gateway is None:
        raise RuleViolation(422, "gateway_not_in_organization", "No such gateway in this organization.",
                            field="gateway_id")
    return gateway


def create_agent(user: User, data: dict[str, Any]) -> tuple[Agent, str]:
    """A board agent (``board_id``) or a gateway's main agent (no board), and its token.

    Checks that ``user`` administers the board or gateway; ``rules.create_agent`` does the rest."""
    board: Board | None = None
    gateway: Gateway | None = None
    if data.get("board_id") is not None:
        board = access.get_board_for(user, data["board_id"], admin=True)
        if data.get("gateway_id"):
            gateway = _gateway_in(board.organization_id, data["gateway_id"])
    elif data.get("gateway_id") is not None:
        gateway = access.get_gateway_for(user, data["gateway_id"], admin=True)
    return rules.create_agent(user, name=data["name"], board=board, gateway=gateway,
                              is_board_lead=bool(data.get("is_board_lead")))


def update_agent(user: User, agent: Agent, data: dict[str, Any]) -> Agent:
    """Rename, change the gateway, or make or unmake the board's lead."""
    access.require_admin(user, agent.organization_id)
    if "board_id" in data and data["board_id"] != agent.board_id:
        raise RuleViolation(422, "agent_board_fixed", "An agent stays on its board; create a new one instead.",
                            field="board_id")
    with transaction.atomic():
        if "name" in data:
            agent.name = data["name"]
        if "gateway_id" in data:
            agent.gateway = _gateway_in(agent.organization_id, data["gateway_id"]) if data["gateway_id"] else None
        if "is_board_lead" in data:
            if data["is_board_lead"] and agent.board_id is None:
                raise RuleViolation(422, "lead_needs_board", "Only an agent on a board can be its lead.",
                                    field="is_board_lead")
            agent.is_board_lead = bool(data["is_board_lead"])
        if agent.board is not None:
            rules.check_board_has_room(agent.board, agent.name, agent.is_board_lead, exclude=agent)
        rules.save_agent(agent, agent.save)
        activity.record("agent.updated", actor=user, board=agent.board_id, agent=agent,
                        organization=agent.organization_id, message=f"Agent {agent.name} changed",
                        data={"fields": sorted(data)})
    return agent


def delete_agent(user: User, agent: Agent) -> None:
    """Remove an agent; its tasks become unassigned and its history stays."""
    access.require_admin(user, agent.organization_id)
    with transaction.atomic():
        activity.record("agent.deleted", actor=user, board=agent.board_id, agent=agent.pk,
                        organization=agent.organization_id, message=f"Agent {agent.name} deleted",
                        data={"name": agent.name})
        agent.delete()


def rotate_token(user: User, agent: Agent) -> str:
    """A new token for ``agent``; the old one stops working at once."""
    access.require_admin(user, agent.organization_id)
    with transaction.atomic():
        token = mint_token(agent)
        activity.record("agent.token_rotated", actor=user, board=agent.board_id, agent=agent,
                        organization=agent.organization_id, message=f"Token of {agent.name} rotated")
    return token
