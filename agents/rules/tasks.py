"""Tasks: create, change (fields and status, with a comment in the same step), delete.

- **People** of the board's organization (owners, admins and members alike) may do
  everything a lead may and more: create, change and delete any task field and move a
  task between any statuses.
- **Leads** create and delete tasks on their board and edit their fields; they move a
  task only out of ``review`` (to ``done``, or back to ``inbox``, which returns it to the
  worker who asked for review), or start an ``inbox`` task by assigning a worker in the
  same request. A lead never assigns a task to a lead.
- **Workers** change only the ``status`` and the ``custom_field_values`` of tasks of
  their board that are assigned to them or unassigned. Moving to ``in_progress`` or ``done`` takes the task, to ``review``
  hands it to the board lead, to ``inbox`` unassigns it. An update that carries only a
  ``comment`` is a comment, which workers may leave on any task of their board.
- **The main agent** works through board agents (403 ``board_agents_only``).

Every change passes the gates of ``agents.rules.gates``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from agents import activity
from agents.gateway import events
from agents.models import Agent, Board, Tag, Task, TaskComment, TaskDependency, User
from agents.queries import COLUMN_ORDER, board_lead
from agents.refusals import RuleViolation
from agents.rules.actors import Actor, actor_role, check_worker_may_touch, refuse_main
from agents.rules.comments import check_may_comment, comment_text, record_comment, write_comment
from agents.rules.fields import check_required_values, custom_field_values
from agents.rules.gates import (
    check_gates,
    check_no_cycle,
    check_not_blocked,
    is_new,
    left_done_or_review,
)
from agents.rules.inputs import aware_datetime, choice, uuid_list, uuid_value

Status = Task.Status

TASK_FIELDS = ("title", "description", "status", "priority", "due_at", "assigned_agent_id",
               "depends_on_task_ids", "tag_ids", "custom_field_values")
# Names the normalized changes use (model-side values: objects, not ids).
SIMPLE_FIELDS = ("title", "description", "status", "priority", "due_at", "custom_field_values")
# What a worker may change on a task it holds (or nobody holds).
WORKER_FIELDS = {"status", "custom_field_values"}
# Refusals name fields as the client sent them, not as the changes hold them.
API_FIELD_NAMES = {"assigned_agent": "assigned_agent_id", "depends_on": "depends_on_task_ids", "tags": "tag_ids"}


def _assignee(value: Any, board: Board) -> Agent | None:
    if value is None:
        return None
    agent = Agent.objects.filter(pk=uuid_value(value, "assigned_agent_id"), board_id=board.pk).first()
    if agent is None:
        raise RuleViolation(422, "assignee_not_on_board", "The assigned agent must be an agent of this board.")
    return agent


def _dependencies(values: Any, board: Board, task: Task | None) -> list[Task]:
    ids = uuid_list(values, "depends_on_task_ids")
    if task is not None and task.pk in ids:
        raise RuleViolation(422, "dependency_on_itself", "A task cannot depend on itself.")
    found = {t.pk: t for t in Task.objects.filter(pk__in=ids, board_id=board.pk)}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise RuleViolation(422, "dependency_not_on_board", "Dependencies must be tasks of the same board.",
                            task_ids=missing)
    return [found[i] for i in ids]


def _tags(values: Any, board: Board) -> list[Tag]:
    ids = uuid_list(values, "tag_ids")
    found = {t.pk: t for t in Tag.objects.filter(pk__in=ids, organization_id=board.organization_id)}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise RuleViolation(422, "tag_not_in_organization", "Tags must belong to the board's organization.",
                            tag_ids=missing)
    return [found[i] for i in ids]


def _normalize(data: dict[str, Any], board: Board, task: Task | None) -> dict[str, Any]:
    """Validated model-side values for the task fields present in ``data``."""
    unknown = sorted(set(data) - set(TASK_FIELDS))
    if unknown:
        raise RuleViolation(422, "unknown_field", f"Unknown task field: {', '.join(unknown)}.", fields=unknown)
    out: dict[str, Any] = {}
    if "title" in data:
        title = (data["title"] or "").strip() if isinstance(data["title"], str | type(None)) else ""
        if not title:
            raise RuleViolation(422, "title_required", "A task needs a title.", field="title")
        out["title"] = title
    if "description" in data:
        out["description"] = data["description"] or ""
    if "status" in data:
        out["status"] = choice(data["status"], Status, "status")
    if "priority" in data:
        out["priority"] = choice(data["priority"], Task.Priority, "priority")
    if "due_at" in data:
        out["due_at"] = aware_datetime(data["due_at"], "due_at")
    if "assigned_agent_id" in data:
        out["assigned_agent"] = _assignee(data["assigned_agent_id"], board)
    if "depends_on_task_ids" in data:
        out["depends_on"] = _dependencies(data["depends_on_task_ids"], board, task)
    if "tag_ids" in data:
        out["tags"] = _tags(data["tag_ids"], board)
    if "custom_field_values" in data:
        current = None if task is None else task.custom_field_values
        out["custom_field_values"] = custom_field_values(board, current, data["custom_field_values"])
    return out


def _effective(task: Task, changes: dict[str, Any]) -> dict[str, Any]:
    """Only the changes that differ from the task as it is (clients often resend fields)."""
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "assigned_agent":
            current: Any = task.assigned_agent_id
            value_cmp: Any = value.pk if value is not None else None
        elif name == "depends_on":
            current = (set() if is_new(task) else
                       set(task.dependency_links.values_list("depends_on_id", flat=True)))
            value_cmp = {t.pk for t in value}
        elif name == "tags":
            current = set() if is_new(task) else set(task.tags.values_list("pk", flat=True))
            value_cmp = {t.pk for t in value}
        else:
            current, value_cmp = getattr(task, name), value
        if current != value_cmp:
            out[name] = value
    return out



def _check_worker_change(worker: Agent, board: Board, task: Task, changes: dict[str, Any]) -> None:
    check_worker_may_touch(worker, task)
    other = sorted(API_FIELD_NAMES.get(name, name) for name in set(changes) - WORKER_FIELDS)
    if other:
        raise RuleViolation(403, "worker_can_only_change_status",
                            "Workers may only change a task's status and its custom field values.", fields=other)
    if "status" in changes and board.only_lead_can_change_status:
        raise RuleViolation(403, "only_lead_can_change_status",
                            "On this board only the lead changes task status.")


def _check_lead_change(task: Task, old_status: str, changes: dict[str, Any]) -> None:
    assignee = changes.get("assigned_agent")
    if assignee is not None and assignee.is_board_lead:
        raise RuleViolation(422, "cannot_assign_to_lead", "A lead cannot assign a task to a lead.")
    new_status = changes.get("status")
    if new_status is None:
        return
    leaving_review = old_status == Status.REVIEW and new_status in (Status.DONE, Status.INBOX)
    starting = old_status == Status.INBOX and new_status == Status.IN_PROGRESS and assignee is not None
    if not (leaving_review or starting):
        raise RuleViolation(403, "lead_transition_not_allowed",
                            "A lead moves a task only out of review (to done or back to inbox), "
                            "or starts an inbox task by assigning a worker in the same request.")


def _check_may_change(role: str, actor: Actor, board: Board, task: Task, old_status: str,
                      changes: dict[str, Any]) -> None:
    if role == "main":
        raise refuse_main()
    if role == "worker":
        assert isinstance(actor, Agent)
        _check_worker_change(actor, board, task, changes)
    elif role == "lead":
        _check_lead_change(task, old_status, changes)


def _apply_transition(role: str, actor: Actor, board: Board, task: Task, old_status: str,
                      changes: dict[str, Any]) -> None:
    """Who holds the task after its status changes, and when work on it started."""
    new_status = changes.get("status", old_status)
    if new_status == old_status:
        return
    # A task entering a column has no place in it yet: it shows first until someone orders it.
    task.position = None
    if new_status == Status.IN_PROGRESS:
        task.in_progress_at = timezone.now()
    if left_done_or_review(old_status, new_status):
        task.reopened_at = timezone.now()
    if role == "worker":
        assert isinstance(actor, Agent)
        if new_status in (Status.IN_PROGRESS, Status.DONE):
            task.assigned_agent = actor
        elif new_status == Status.REVIEW:
            task.review_requested_by = actor
            task.assigned_agent = board_lead(board)
        else:
            task.assigned_agent = None
    elif role == "lead" and old_status == Status.REVIEW and new_status == Status.INBOX:
        if "assigned_agent" not in changes:
            task.assigned_agent = task.review_requested_by
        task.review_requested_by = None



def _reopen_dependents(actor: Actor, task: Task) -> None:
    """A done task coming back means work built on it is not ready: its unfinished
    dependents return to inbox, unassigned (blocked tasks cannot be held)."""
    dependents = (Task.objects.select_for_update().filter(dependency_links__depends_on_id=task.pk)
                  .exclude(status=Status.DONE))
    now = timezone.now()
    for dependent in dependents:
        if dependent.status == Status.INBOX and dependent.assigned_agent_id is None:
            continue
        previous = dependent.status
        dependent.status, dependent.assigned_agent, dependent.updated_at = Status.INBOX, None, now
        dependent.position = None
        fields = ["status", "assigned_agent", "updated_at", "position"]
        if left_done_or_review(previous, Status.INBOX):
            dependent.reopened_at = now
            fields.append("reopened_at")
        dependent.save(update_fields=fields)
        activity.record("task.status_changed", actor=actor, task=dependent, board=task.board,
                        message=f"{dependent.title}: back to inbox because {task.title} was reopened",
                        data={"from": previous, "to": Status.INBOX, "reason": "dependency_reopened",
                              "dependency_id": str(task.pk)})



def _save_relations(task: Task, changes: dict[str, Any]) -> None:
    if "depends_on" in changes:
        TaskDependency.objects.filter(task=task).delete()
        TaskDependency.objects.bulk_create(TaskDependency(task=task, depends_on=d) for d in changes["depends_on"])
    if "tags" in changes:
        task.tags.set(changes["tags"])


def create_task(actor: Actor, board: Board, data: dict[str, Any], *, priority_sent: str | None = None) -> Task:
    """A new task on ``board``; leads and people of the organization create tasks.

    ``priority_sent``: the word the client sent when ``data["priority"]`` was read from it
    (the agent API's reading of ``critical``, ``P1``...); the event keeps it."""
    role = actor_role(actor, board)
    if role == "main":
        raise refuse_main()
    if role == "worker":
        raise RuleViolation(403, "lead_required", "Only the board lead creates tasks.")
    if not data.get("title"):
        raise RuleViolation(422, "title_required", "A task needs a title.", field="title")
    with transaction.atomic():
        task = Task(board=board, created_by_user=actor if isinstance(actor, User) else None,
                    created_by_agent=actor if isinstance(actor, Agent) else None)
        changes = _normalize(data, board, None)
        check_required_values(board, changes.get("custom_field_values", {}))
        _check_may_change(role, actor, board, task, Status.INBOX, _effective(task, changes))
        for name in (*SIMPLE_FIELDS, "assigned_agent"):
            if name in changes:
                setattr(task, name, changes[name])
        _apply_transition(role, actor, board, task, Status.INBOX, changes)
        check_not_blocked(task, Status.INBOX, None, changes)
        check_gates(board, task, Status.INBOX, None, None)
        task.created_at = task.updated_at = timezone.now()
        task.save()
        _save_relations(task, changes)
        data = {"status": task.status, "title": task.title,
                "assigned_agent_id": str(task.assigned_agent_id) if task.assigned_agent_id else None}
        if task.custom_field_values:
            data["custom_field_keys"] = sorted(task.custom_field_values)
        activity.record("task.created", actor=actor, task=task, board=board, message=f"Created {task.title}",
                        data={**data, **_priority_note(task, priority_sent)})
        events.task_created(actor, task)
    return task


def _priority_note(task: Task, sent: str | None) -> dict[str, str]:
    """What the event says about a priority read from another word: what was sent."""
    if sent is None or sent == task.priority:
        return {}
    return {"priority_sent": sent[:100]}


def update_task(actor: Actor, task: Task, changes: dict[str, Any], comment: str | None = None, *,
                priority_sent: str | None = None) -> Task:
    """Change a task (partial); ``comment`` is added in the same step and counts for review.
    ``priority_sent`` as for :func:`create_task`."""
    board = task.board
    role = actor_role(actor, board)
    if "status" in changes and changes["status"] is None:
        raise RuleViolation(422, "status_required", "status cannot be null.", field="status")
    comment = comment_text(comment)
    with transaction.atomic():
        # Lock the row: two agents grabbing the same inbox task must not both win.
        task = Task.objects.select_for_update().select_related("board").get(pk=task.pk)
        old_status, old_assignee_id = task.status, task.assigned_agent_id
        old_values = dict(task.custom_field_values or {})
        if role == "worker" and changes:
            # Checked before "nothing to change": the loser of a race for a task must hear
            # that someone else holds it, not get a quiet success. A request with only a
            # comment changes nothing on the task: it is a comment, open to every worker.
            assert isinstance(actor, Agent)
            check_worker_may_touch(actor, task)
        wanted = _effective(task, _normalize(changes, board, task))
        if not wanted:
            return _comment_only(actor, role, task, comment)
        _check_may_change(role, actor, board, task, old_status, wanted)
        if comment is not None:
            check_may_comment(role, actor, task)
        if "depends_on" in wanted:
            check_no_cycle(task, wanted["depends_on"])
        for name in (*SIMPLE_FIELDS, "assigned_agent"):
            if name in wanted:
                setattr(task, name, wanted[name])
        _apply_transition(role, actor, board, task, old_status, wanted)
        check_not_blocked(task, old_status, old_assignee_id, wanted)
        check_gates(board, task, old_status, old_assignee_id, comment)
        task.updated_at = timezone.now()
        task.save()
        _save_relations(task, wanted)
        comment_row = write_comment(actor, task, comment) if comment is not None else None
        _record_update(actor, task, old_status, wanted, comment_row,
                       priority_sent if "priority" in wanted else None, old_values)
        if old_status == Status.DONE and task.status != Status.DONE:
            _reopen_dependents(actor, task)
        events.task_changed(actor, task, old_status, old_assignee_id, comment_row)
    return task


def _comment_only(actor: Actor, role: str, task: Task, comment: str | None) -> Task:
    if comment is not None:
        check_may_comment(role, actor, task)
        row = write_comment(actor, task, comment)
        record_comment(actor, task, row)
        events.commented(actor, task, row)
    return task


def _record_update(actor: Actor, task: Task, old_status: str, wanted: dict[str, Any],
                   comment: TaskComment | None, priority_sent: str | None, old_values: dict[str, Any]) -> None:
    # Clients read these names next to the task's fields, so they are the API's names.
    data: dict[str, Any] = {"changes": sorted(API_FIELD_NAMES.get(name, name) for name in wanted),
                            **_priority_note(task, priority_sent)}
    if "custom_field_values" in wanted:
        new_values = wanted["custom_field_values"]
        data["custom_field_keys"] = sorted(key for key in old_values.keys() | new_values.keys()
                                           if old_values.get(key) != new_values.get(key))
    if comment is not None:
        data["comment_id"] = str(comment.pk)
    if task.assigned_agent_id is not None:
        data["assigned_agent_id"] = str(task.assigned_agent_id)
    if task.status != old_status:
        data.update({"from": old_status, "to": task.status})
        activity.record("task.status_changed", actor=actor, task=task, board=task.board,
                        message=f"{task.title}: {old_status} → {task.status}", data=data)
    else:
        activity.record("task.updated", actor=actor, task=task, board=task.board,
                        message=f"Updated {task.title}", data=data)


def _require_lead_or_person(actor: Actor, board: Board, sentence: str) -> None:
    """The main agent is refused as everywhere; a worker with 403 ``lead_required`` and ``sentence``."""
    role = actor_role(actor, board)
    if role == "main":
        raise refuse_main()
    if role == "worker":
        raise RuleViolation(403, "lead_required", sentence)


def delete_task(actor: Actor, task: Task) -> None:
    """Remove a task; leads and people of the organization delete. Its activity stays."""
    board = task.board
    _require_lead_or_person(actor, board, "Only the board lead deletes tasks.")
    with transaction.atomic():
        task_id, title = task.pk, task.title
        task.delete()
        activity.record("task.deleted", actor=actor, task=task_id, board=board, message=f"Deleted {title}",
                        data={"title": title})



# Where ``move_task_within_column`` moves a task: one place towards the top or the bottom.
DIRECTIONS = ("up", "down")


def move_task_within_column(actor: Actor, task: Task, direction: Any = None, *, position: Any = None,
                            column: str | None = None) -> int:
    """Move ``task`` one place ``up`` or ``down`` in its column, or to ``position`` (0 for the
    top: its place once moved, as a card dropped between two others); the board's people and
    its lead order columns. Returns the task's new place, 0 for the top. ``column``: the
    status the caller saw the task in; a task that has left it meanwhile is refused (409)
    rather than placed in a column the caller was not looking at.

    The first move in a column numbers every task of it in the order the board shows; later
    moves reuse the column's numbers, so only the tasks between the old and the new place are
    written (two, for one place). A task that changes column loses its number
    (``_apply_transition``)."""
    board = task.board
    _require_lead_or_person(actor, board, "Only the board lead or a person of the organization orders a column.")
    if position is None and direction not in DIRECTIONS:
        raise RuleViolation(422, "invalid_direction", "direction must be up or down.", field="direction")
    if position is not None and (isinstance(position, bool) or not isinstance(position, int)):
        raise RuleViolation(422, "invalid_position", "position must be a whole number, 0 for the top.",
                            field="position")
    with transaction.atomic():
        status = Task.objects.filter(pk=task.pk).values_list("status", flat=True).first() or task.status
        # The whole column, locked in the order it is shown: two people ordering the same
        # column at once take their turns instead of numbering it twice.
        rows = list(Task.objects.select_for_update().filter(board_id=board.pk, status=status)
                    .order_by(*COLUMN_ORDER).values_list("id", "position"))
        ids = [task_id for task_id, _ in rows]
        if task.pk not in ids or (column is not None and column != status):
            raise RuleViolation(409, "task_moved_meanwhile",
                                "The task changed column meanwhile; look at the board again and retry.")
        label = Status(status).label
        index = ids.index(task.pk)
        if position is not None:
            if not 0 <= position < len(ids):
                raise RuleViolation(422, "invalid_position",
                                    f"position must be between 0 (the top) and {len(ids) - 1} (the bottom): "
                                    f"{label} holds {len(ids)} task{'s' if len(ids) != 1 else ''}.",
                                    field="position")
            target = position
            if target == index:
                return target  # already there: nothing to write
            direction = "up" if target < index else "down"
        else:
            target = index - 1 if direction == "up" else index + 1
            if target < 0:
                raise RuleViolation(409, "task_already_first", f"“{task.title}” is already first in {label}.")
            if target >= len(ids):
                raise RuleViolation(409, "task_already_last", f"“{task.title}” is already last in {label}.")
        ids.insert(target, ids.pop(index))
        old = dict(rows)
        positions = [number for _, number in rows if number is not None]
        # Distinct numbers in order already: the moved tasks take the same numbers in their new
        # order, and the tasks outside the moved stretch keep theirs.
        numbers = (sorted(positions) if len(set(positions)) == len(rows) else range(len(ids)))
        changed = [Task(id=task_id, position=number) for task_id, number in zip(ids, numbers, strict=True)
                   if old[task_id] != number]
        Task.objects.bulk_update(changed, ["position"], batch_size=500)
        # The board's live view and list notice a change by the tasks' latest update.
        Task.objects.filter(pk=task.pk).update(updated_at=timezone.now())
        data: dict[str, Any] = {"changes": ["position"], "direction": direction, "status": status, "position": target}
        if position is not None:
            data["from"] = index
        activity.record("task.updated", actor=actor, task=task, board=board, message=f"Updated {task.title}",
                        data=data)
    return target
