"""Board memory: the notes and chat the board's agents read on every heartbeat.

People of the organization, the board's agents and the main agent of the organization
write it; the main agent reads the leads' replies there and writes the answers it got
from people (``agents.access.agent_can_reach`` keeps it to its organization's boards)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from agents import activity
from agents.gateway import events
from agents.models import Agent, Board, BoardMemory, User
from agents.refusals import RuleViolation
from agents.rules.actors import Actor, actor_role


def create_memory(actor: Actor, board: Board, data: dict[str, Any]) -> BoardMemory:
    """A note or chat message on the board; the tag ``chat`` makes it chat."""
    actor_role(actor, board)  # reach: 404 for people outside, 403 for agents outside
    content = data.get("content")
    if not isinstance(content, str) or not content.strip():
        raise RuleViolation(422, "memory_content_required", "Board memory needs content.", field="content")
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise RuleViolation(422, "memory_tags_invalid", "tags must be a list of strings.", field="tags")
    source = data.get("source") or ""
    if not isinstance(source, str):
        raise RuleViolation(422, "memory_source_invalid", "source must be a string.", field="source")
    with transaction.atomic():
        memory = BoardMemory.objects.create(
            board=board, content=content, tags=tags, is_chat="chat" in tags, source=source[:200],
            author_user=actor if isinstance(actor, User) else None,
            author_agent=actor if isinstance(actor, Agent) else None)
        activity.record("memory.created", actor=actor, board=board, message="Chat message" if memory.is_chat
                        else "Board memory note", data={"memory_id": str(memory.pk), "is_chat": memory.is_chat})
        events.memory_written(actor, memory)
    return memory

