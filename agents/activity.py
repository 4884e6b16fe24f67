"""The one place that writes activity events.

Every change in the domain calls :func:`record` once, with the actor that made it: a
person (``User``), an agent, or ``None`` for the system itself. Ids are copied as plain
values so the record outlives the objects it mentions.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.dispatch import receiver

from agents import live
from agents.models import ActivityEvent, Agent, Board, Organization, Task, User
from ops.signals import operation_recorded

logger = logging.getLogger("agents.activity")

Actor = User | Agent | None


def _id(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    return getattr(value, "pk", value)


def actor_fields(actor: Actor) -> dict[str, Any]:
    """``actor_type``, the actor's id and display name for an event row."""
    if isinstance(actor, Agent):
        return {"actor_type": ActivityEvent.ActorType.AGENT, "actor_agent_id": actor.pk, "actor_name": actor.name}
    if actor is not None and getattr(actor, "is_authenticated", False):
        name = actor.get_full_name() or actor.get_username()
        return {"actor_type": ActivityEvent.ActorType.USER, "actor_user_id": actor.pk, "actor_name": name}
    return {"actor_type": ActivityEvent.ActorType.SYSTEM, "actor_name": "system"}


def _organization_id(
    organization: Organization | uuid.UUID | None,
    board: Board | None,
    task: Task | None,
    agent: Agent | None,
    actor: Actor,
) -> uuid.UUID | None:
    if organization is not None:
        return _id(organization)
    if isinstance(board, Board):
        return board.organization_id
    if isinstance(task, Task) and task.board_id is not None:
        # The task's board is usually loaded already; a bare id costs one query.
        return Board.objects.filter(pk=task.board_id).values_list("organization_id", flat=True).first()
    if isinstance(agent, Agent):
        return agent.organization_id
    if isinstance(actor, Agent):
        return actor.organization_id
    return None


def record(
    event_type: str,
    *,
    actor: Actor,
    board: Board | uuid.UUID | None = None,
    task: Task | uuid.UUID | None = None,
    agent: Agent | uuid.UUID | None = None,
    organization: Organization | uuid.UUID | None = None,
    message: str = "",
    data: dict[str, Any] | None = None,
) -> ActivityEvent:
    """Write one activity event. ``board`` defaults to the task's board."""
    row = event(event_type, actor=actor, board=board, task=task, agent=agent, organization=organization,
                message=message, data=data)
    row.save(force_insert=True)
    changed(row)
    return row


def changed(row: ActivityEvent) -> None:
    """Open console pages of the event's board and organization learn of it after the commit
    (``agents.live``); a caller that inserts :func:`event`'s row itself calls this too, or
    moves the stamps in its own statement (``live.bump_statement``, as webhook ingest does)."""
    live.bump(live.scopes_of(board_id=row.board_id, organization_id=row.organization_id))


def event(
    event_type: str,
    *,
    actor: Actor,
    board: Board | uuid.UUID | None = None,
    task: Task | uuid.UUID | None = None,
    agent: Agent | uuid.UUID | None = None,
    organization: Organization | uuid.UUID | None = None,
    message: str = "",
    data: dict[str, Any] | None = None,
) -> ActivityEvent:
    """The row :func:`record` writes, not saved yet: for a caller that inserts it together
    with the rows of its change in one statement (``webhooks.rows``)."""
    board_id = _id(board)
    if board_id is None and isinstance(task, Task):
        board_id = task.board_id
    board_obj = board if isinstance(board, Board) else None
    if board_obj is None and isinstance(task, Task) and Task._meta.get_field("board").is_cached(task):
        board_obj = task.board
    return ActivityEvent(
        event_type=event_type,
        organization_id=_organization_id(organization, board_obj, task if isinstance(task, Task) else None,
                                         agent if isinstance(agent, Agent) else None, actor),
        board_id=board_id,
        task_id=_id(task),
        agent_id=_id(agent),
        message=message,
        data=data or {},
        **actor_fields(actor),
    )


@receiver(operation_recorded, dispatch_uid="agents.activity.operation_recorded")
def record_operation(sender: Any, *, event_type: str, message: str = "", data: dict[str, Any] | None = None,
                     **kwargs: Any) -> None:
    """Backups, restores and upgrades run from ``ops``, which knows no app; they land here.

    They concern the whole installation; filing them under the default organization
    (when there is one) lets its admins see them in the activity feed. A database that
    has no tables yet (a restore refused before anything was put in it) has nowhere to
    record to: that is not an error worth a traceback above the real refusal."""
    from django.db import connection

    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    if ActivityEvent._meta.db_table not in tables or Organization._meta.db_table not in tables:
        logger.debug("Not recording %s: the database has no activity table yet.", event_type)
        return
    default_org = Organization.objects.filter(is_default=True).values_list("pk", flat=True).first()
    record(event_type, actor=None, organization=default_org, message=message, data=data)
