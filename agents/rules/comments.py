"""Comments on tasks: people of the organization, the lead, and a worker holding the task."""

from __future__ import annotations

from django.db import transaction

from agents import activity
from agents.models import Agent, Task, TaskComment, User
from agents.refusals import RuleViolation
from agents.rules.actors import (
    Actor,
    actor_role,
    check_worker_may_touch,
    require_board_worker_or_person,
)


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
    require_board_worker_or_person(role)
    if role == "worker":
        assert isinstance(actor, Agent)
        check_worker_may_touch(actor, task)


def record_comment(actor: Actor, task: Task, row: TaskComment) -> None:
    activity.record("task.commented", actor=actor, task=task, board=task.board,
                    message=f"Commented on {task.title}", data={"comment_id": str(row.pk)})


def add_comment(actor: Actor, task: Task, message: str) -> TaskComment:
    """A comment on a task by a person of its organization, its lead, or a worker holding it."""
    role = actor_role(actor, task.board)
    check_may_comment(role, actor, task)
    text = comment_text(message)
    assert text is not None
    with transaction.atomic():
        row = write_comment(actor, task, text)
        record_comment(actor, task, row)
    return row
