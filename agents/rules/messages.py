"""The messages Mission Control pushes to agents: what a person may do with them."""

from __future__ import annotations

from agents import access, activity
from agents.gateway import outbox
from agents.models import Agent, AgentMessage, User
from agents.refusals import RuleViolation


def resend_message(user: User, agent: Agent, message_id: int) -> int:
    """Sends a dead message to ``agent`` again (with the rest of the batch it died in);
    answers how many messages were queued again."""
    access.require_admin(user, agent.organization_id)
    message = AgentMessage.objects.filter(pk=message_id, agent_id=agent.pk).first()
    if message is None:
        raise RuleViolation(404, "message_not_found", "No such message for this agent.")
    if message.status != AgentMessage.Status.DEAD:
        raise RuleViolation(409, "message_not_dead",
                            "Only a message that was given up on can be sent again; this one is "
                            f"{message.get_status_display().lower()}.")
    message.agent = agent
    count = outbox.resend(message)
    activity.record("agent.message_resent", actor=user, board=agent.board_id, agent=agent,
                    organization=agent.organization_id,
                    message=f"{count} message(s) to {agent.name} queued again",
                    data={"message_id": message.pk, "count": count})
    return count
