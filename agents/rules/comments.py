"""Comments on tasks: people of the organization and every agent of the task's board.

A worker may comment on any task of its board, held by someone else or not: it assists,
answers a question or a mention. What it may not do there is change the task (status or
fields): that stays with whoever holds it (``agents.rules.tasks``)."""

from __future__ import annotations

from django.db import transaction

from agents import activity
from agents.gateway import events
from agents.models import Agent, Task, TaskComment, User
from agents.refusals import RuleViolation
from agents.rules.actors import Actor, actor_role, require_board_worker_or_person


def comment_text(comment: str | None) -> str | None:
    if comment is None:
        return None
    if not isinstance(comment, str) or not comment.strip():
        raise RuleViolation(422, "comment_empty", "A comment needs a message.", field="comment")
    return comment.strip()


def write_comment(actor: Actor, task: Task, message: str) -> TaskComment:
    return TaskComment.objects.create(task=task, message=message,
                                      author_user=actor if isinstance(actor, User) else None,
                                      author_agent=actor if isinstance(actor, Agent) else None)


def check_may_comment(role: str, actor: Actor, task: Task) -> None:
    """People, the lead and every worker of the board comment; the main agent works through them."""
    require_board_worker_or_person(role)


def record_comment(actor: Actor, task: Task, row: TaskComment) -> None:
    activity.record("task.commented", actor=actor, task=task, board=task.board,
                    message=f"Commented on {task.title}", data={"comment_id": str(row.pk)})


def add_comment(actor: Actor, task: Task, message: str) -> TaskComment:
    """A comment on a task by a person of its organization or an agent of its board."""
    role = actor_role(actor, task.board)
    check_may_comment(role, actor, task)
    text = comment_text(message)
    assert text is not None
    with transaction.atomic():
        row = write_comment(actor, task, text)
        record_comment(actor, task, row)
        events.commented(actor, task, row)
    return row
