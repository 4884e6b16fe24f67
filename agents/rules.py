"""The workflow rules of the work domain, as plain functions.

The user API, the agent API and the console all call these; views only translate HTTP
to calls and back. Every refusal is a :class:`RuleViolation` with an HTTP status, a
stable ``code`` and a sentence. Every change writes one activity event with its actor.

Who may do what (``actor`` is a ``User`` or an ``Agent``):

- **People** of the board's organization (owners, admins and members alike) may do
  everything a lead may and more: create, change and delete any task field, move a task
  between any statuses, comment, write board memory, request approvals and resolve them.
  Creating and changing boards, gateways, agents and tags is for owners and admins, and
  is checked where those objects are changed (``agents.access``), not here. People
  outside the organization get 404.
- **Leads** create and delete tasks on their board and edit their fields; they move a
  task only out of ``review`` (to ``done``, or back to ``inbox``, which returns it to the
  worker who asked for review), or start an ``inbox`` task by assigning a worker in the
  same request. A lead never assigns a task to a lead.
- **Workers** change only the ``status`` of, and comment on, tasks of their board that
  are assigned to them or unassigned. Moving to ``in_progress`` or ``done`` takes the
  task, to ``review`` hands it to the board lead, to ``inbox`` unassigns it.
- **The main agent** works through board agents: task, comment, memory and approval
  writes are refused (403 ``board_agents_only``).
- Agents create approvals only as ``pending``; only people resolve them.

The five board gates apply to every status change by anyone, including on create (a
new task is treated as coming from ``inbox``).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agents import activity
from agents.access import agent_can_reach, role_in
from agents.models import (
    Agent,
    Approval,
    ApprovalTask,
    Board,
    BoardMemory,
    Gateway,
    Tag,
    Task,
    TaskComment,
    TaskDependency,
    User,
)
from agents.refusals import RuleViolation
from agents.tokens import mint_token

__all__ = [
    "RuleViolation", "actor_role", "add_comment", "blocked_by_map", "check_board_has_room", "create_agent",
    "create_memory", "create_task",
    "delete_task", "request_approval", "resolve_approval", "update_task",
]

Actor = User | Agent
Status = Task.Status

TASK_FIELDS = ("title", "description", "status", "priority", "due_at", "assigned_agent_id",
               "depends_on_task_ids", "tag_ids")
# Names the normalized changes use (model-side values: objects, not ids).
SIMPLE_FIELDS = ("title", "description", "status", "priority", "due_at")
# Refusals name fields as the client sent them, not as the changes hold them.
API_FIELD_NAMES = {"assigned_agent": "assigned_agent_id", "depends_on": "depends_on_task_ids", "tags": "tag_ids"}


# --- who is acting ---------------------------------------------------------------------


def actor_role(actor: Actor, board: Board) -> str:
    """``person``, ``lead``, ``worker`` or ``main`` for ``actor`` on ``board``.

    People outside the organization get 404; agents outside their reach get 403."""
    if isinstance(actor, Agent):
        if not agent_can_reach(actor, board):
            raise RuleViolation(403, "board_out_of_reach", "This board is outside the agent's reach.")
        return actor.role
    if role_in(actor, board.organization_id) is None:
        raise Http404
    # Every role of the organization works on its boards; admin-only objects are elsewhere.
    return "person"


def _refuse_main() -> RuleViolation:
    return RuleViolation(403, "board_agents_only", "Only the board's lead and workers may do this.")


def _require_board_worker_or_person(role: str) -> None:
    if role == "main":
        raise _refuse_main()


# --- reading and checking task input -----------------------------------------------------


def _uuid(value: Any, field: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError) as exc:
        raise RuleViolation(422, "invalid_id", f"{field} must be a UUID.", field=field) from exc


def _uuid_list(values: Any, field: str) -> list[uuid.UUID]:
    if values is None:
        return []
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise RuleViolation(422, "invalid_id", f"{field} must be a list of UUIDs.", field=field)
    return list(dict.fromkeys(_uuid(value, field) for value in values))


def _choice(value: Any, choices: type[Task.Status] | type[Task.Priority], field: str) -> str:
    if value is None:
        raise RuleViolation(422, f"{field}_required", f"{field} cannot be null.", field=field)
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise RuleViolation(422, f"invalid_{field}", f"{field} must be one of: {allowed}.", field=field)
    return str(value)


def _datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise RuleViolation(422, "invalid_due_at", "due_at must be an ISO 8601 date and time.", field="due_at")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


def _assignee(value: Any, board: Board) -> Agent | None:
    if value is None:
        return None
    agent = Agent.objects.filter(pk=_uuid(value, "assigned_agent_id"), board_id=board.pk).first()
    if agent is None:
        raise RuleViolation(422, "assignee_not_on_board", "The assigned agent must be an agent of this board.")
    return agent


def _dependencies(values: Any, board: Board, task: Task | None) -> list[Task]:
    ids = _uuid_list(values, "depends_on_task_ids")
    if task is not None and task.pk in ids:
        raise RuleViolation(422, "dependency_on_itself", "A task cannot depend on itself.")
    found = {t.pk: t for t in Task.objects.filter(pk__in=ids, board_id=board.pk)}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise RuleViolation(422, "dependency_not_on_board", "Dependencies must be tasks of the same board.",
                            task_ids=missing)
    return [found[i] for i in ids]


def _tags(values: Any, board: Board) -> list[Tag]:
    ids = _uuid_list(values, "tag_ids")
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
        out["status"] = _choice(data["status"], Status, "status")
    if "priority" in data:
        out["priority"] = _choice(data["priority"], Task.Priority, "priority")
    if "due_at" in data:
        out["due_at"] = _datetime(data["due_at"])
    if "assigned_agent_id" in data:
        out["assigned_agent"] = _assignee(data["assigned_agent_id"], board)
    if "depends_on_task_ids" in data:
        out["depends_on"] = _dependencies(data["depends_on_task_ids"], board, task)
    if "tag_ids" in data:
        out["tags"] = _tags(data["tag_ids"], board)
    return out


def _is_new(task: Task) -> bool:
    # Ids are assigned on instantiation, so ``pk`` cannot tell a new task from a saved one.
    return task._state.adding


def _effective(task: Task, changes: dict[str, Any]) -> dict[str, Any]:
    """Only the changes that differ from the task as it is (clients often resend fields)."""
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "assigned_agent":
            current: Any = task.assigned_agent_id
            value_cmp: Any = value.pk if value is not None else None
        elif name == "depends_on":
            current = (set() if _is_new(task) else
                       set(task.dependency_links.values_list("depends_on_id", flat=True)))
            value_cmp = {t.pk for t in value}
        elif name == "tags":
            current = set() if _is_new(task) else set(task.tags.values_list("pk", flat=True))
            value_cmp = {t.pk for t in value}
        else:
            current, value_cmp = getattr(task, name), value
        if current != value_cmp:
            out[name] = value
    return out


# --- who may change what -------------------------------------------------------------------


def _check_worker_may_touch(worker: Agent, task: Task) -> None:
    if task.assigned_agent_id not in (None, worker.pk):
        raise RuleViolation(403, "task_assigned_to_someone_else",
                            "Workers may only act on tasks assigned to them or unassigned.")


def _check_worker_change(worker: Agent, board: Board, task: Task, changes: dict[str, Any]) -> None:
    _check_worker_may_touch(worker, task)
    other = sorted(API_FIELD_NAMES.get(name, name) for name in set(changes) - {"status"})
    if other:
        raise RuleViolation(403, "worker_can_only_change_status", "Workers may only change a task's status.",
                            fields=other)
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
        raise _refuse_main()
    if role == "worker":
        assert isinstance(actor, Agent)
        _check_worker_change(actor, board, task, changes)
    elif role == "lead":
        _check_lead_change(task, old_status, changes)


# --- the consequences of a status change ---------------------------------------------------


def _board_lead(board: Board) -> Agent | None:
    return Agent.objects.filter(board_id=board.pk, is_board_lead=True).first()


def _apply_transition(role: str, actor: Actor, board: Board, task: Task, old_status: str,
                      changes: dict[str, Any]) -> None:
    """Who holds the task after its status changes, and when work on it started."""
    new_status = changes.get("status", old_status)
    if new_status == old_status:
        return
    if new_status == Status.IN_PROGRESS:
        task.in_progress_at = timezone.now()
    if role == "worker":
        assert isinstance(actor, Agent)
        if new_status in (Status.IN_PROGRESS, Status.DONE):
            task.assigned_agent = actor
        elif new_status == Status.REVIEW:
            task.review_requested_by = actor
            task.assigned_agent = _board_lead(board)
        else:
            task.assigned_agent = None
    elif role == "lead" and old_status == Status.REVIEW and new_status == Status.INBOX:
        if "assigned_agent" not in changes:
            task.assigned_agent = task.review_requested_by
        task.review_requested_by = None


# --- gates and dependencies ----------------------------------------------------------------


def _unfinished_dependency_ids(task: Task, changes: dict[str, Any]) -> list[str]:
    if "depends_on" in changes:
        return sorted(str(t.pk) for t in changes["depends_on"] if t.status != Status.DONE)
    if _is_new(task):
        return []
    return sorted(str(pk) for pk in Task.objects.filter(dependent_links__task_id=task.pk)
                  .exclude(status=Status.DONE).values_list("pk", flat=True))


def _check_not_blocked(task: Task, old_status: str, old_assignee_id: Any, changes: dict[str, Any]) -> None:
    leaves_inbox = task.status != old_status and task.status != Status.INBOX
    gets_assigned = task.assigned_agent_id is not None and task.assigned_agent_id != old_assignee_id
    if not (leaves_inbox or gets_assigned):
        return
    blocked_by = _unfinished_dependency_ids(task, changes)
    if blocked_by:
        raise RuleViolation(409, "task_blocked_cannot_transition",
                            "This task waits on unfinished dependencies: it cannot be assigned or leave inbox.",
                            blocked_by_task_ids=blocked_by)


def _check_no_cycle(task: Task, dependencies: list[Task]) -> None:
    """Walk down from the new dependencies; reaching the task itself would close a loop."""
    if _is_new(task):
        return  # a new task has no dependents yet
    frontier = {t.pk for t in dependencies}
    seen: set[Any] = set()
    while frontier:
        if task.pk in frontier:
            raise RuleViolation(409, "dependency_cycle", "These dependencies would make a cycle.")
        seen |= frontier
        frontier = set(TaskDependency.objects.filter(task_id__in=frontier)
                       .values_list("depends_on_id", flat=True)) - seen


def _gate_pending_approval(board: Board, task: Task) -> None:
    if not board.block_status_changes_with_pending_approval or _is_new(task):
        return
    pending = [str(pk) for pk in ApprovalTask.objects.filter(task_id=task.pk, is_pending=True)
               .values_list("approval_id", flat=True)]
    if pending:
        raise RuleViolation(409, "pending_approval_blocks_status_change",
                            "This task has a pending approval; its status cannot change until it is resolved.",
                            approval_ids=pending)


def _gate_review_before_done(board: Board, old_status: str, new_status: str) -> None:
    if board.require_review_before_done and new_status == Status.DONE and old_status != Status.REVIEW:
        raise RuleViolation(409, "review_required_before_done", "On this board a task reaches done only from review.")


def _gate_approval_for_done(board: Board, task: Task, new_status: str) -> None:
    if not board.require_approval_for_done or new_status != Status.DONE:
        return
    approved = not _is_new(task) and ApprovalTask.objects.filter(
        task_id=task.pk, approval__status=Approval.Status.APPROVED).exists()
    if not approved:
        raise RuleViolation(409, "approval_required_for_done",
                            "On this board a task needs an approved approval before it is done.")


def _gate_comment_for_review(board: Board, task: Task, old_assignee_id: Any, new_status: str,
                             comment: str | None) -> None:
    if not board.comment_required_for_review or new_status != Status.REVIEW or comment:
        return
    comments = TaskComment.objects.none()
    if not _is_new(task) and old_assignee_id is not None:
        comments = TaskComment.objects.filter(task_id=task.pk, author_agent_id=old_assignee_id)
        if task.in_progress_at is not None:
            comments = comments.filter(created_at__gte=task.in_progress_at)
    if not comments.exists():
        raise RuleViolation(422, "comment_required_for_review",
                            "On this board moving to review needs a comment: in the same request, or by "
                            "the assignee since work started.")


def _check_gates(board: Board, task: Task, old_status: str, old_assignee_id: Any, comment: str | None) -> None:
    new_status = task.status
    if new_status == old_status:
        return
    _gate_pending_approval(board, task)
    _gate_review_before_done(board, old_status, new_status)
    _gate_approval_for_done(board, task, new_status)
    _gate_comment_for_review(board, task, old_assignee_id, new_status, comment)


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
        dependent.save(update_fields=["status", "assigned_agent", "updated_at"])
        activity.record("task.status_changed", actor=actor, task=dependent, board=task.board,
                        message=f"{dependent.title}: back to inbox because {task.title} was reopened",
                        data={"from": previous, "to": Status.INBOX, "reason": "dependency_reopened",
                              "dependency_id": str(task.pk)})


# --- tasks ----------------------------------------------------------------------------------


def _save_relations(task: Task, changes: dict[str, Any]) -> None:
    if "depends_on" in changes:
        TaskDependency.objects.filter(task=task).delete()
        TaskDependency.objects.bulk_create(TaskDependency(task=task, depends_on=d) for d in changes["depends_on"])
    if "tags" in changes:
        task.tags.set(changes["tags"])


def _comment(actor: Actor, task: Task, message: str) -> TaskComment:
    return TaskComment.objects.create(task=task, message=message,
                                      author_user=actor if isinstance(actor, User) else None,
                                      author_agent=actor if isinstance(actor, Agent) else None)


def _comment_text(comment: str | None) -> str | None:
    if comment is None:
        return None
    if not isinstance(comment, str) or not comment.strip():
        raise RuleViolation(422, "comment_empty", "A comment needs a message.", field="comment")
    return comment.strip()


def create_task(actor: Actor, board: Board, data: dict[str, Any]) -> Task:
    """A new task on ``board``; leads and people of the organization create tasks."""
    role = actor_role(actor, board)
    if role == "main":
        raise _refuse_main()
    if role == "worker":
        raise RuleViolation(403, "lead_required", "Only the board lead creates tasks.")
    if not data.get("title"):
        raise RuleViolation(422, "title_required", "A task needs a title.", field="title")
    with transaction.atomic():
        task = Task(board=board, created_by_user=actor if isinstance(actor, User) else None,
                    created_by_agent=actor if isinstance(actor, Agent) else None)
        changes = _normalize(data, board, None)
        _check_may_change(role, actor, board, task, Status.INBOX, _effective(task, changes))
        for name in (*SIMPLE_FIELDS, "assigned_agent"):
            if name in changes:
                setattr(task, name, changes[name])
        _apply_transition(role, actor, board, task, Status.INBOX, changes)
        _check_not_blocked(task, Status.INBOX, None, changes)
        _check_gates(board, task, Status.INBOX, None, None)
        task.created_at = task.updated_at = timezone.now()
        task.save()
        _save_relations(task, changes)
        activity.record("task.created", actor=actor, task=task, board=board, message=f"Created {task.title}",
                        data={"status": task.status, "title": task.title,
                              "assigned_agent_id": str(task.assigned_agent_id) if task.assigned_agent_id else None})
    return task


def update_task(actor: Actor, task: Task, changes: dict[str, Any], comment: str | None = None) -> Task:
    """Change a task (partial); ``comment`` is added in the same step and counts for review."""
    board = task.board
    role = actor_role(actor, board)
    if "status" in changes and changes["status"] is None:
        raise RuleViolation(422, "status_required", "status cannot be null.", field="status")
    comment = _comment_text(comment)
    with transaction.atomic():
        # Lock the row: two agents grabbing the same inbox task must not both win.
        task = Task.objects.select_for_update().select_related("board").get(pk=task.pk)
        old_status, old_assignee_id = task.status, task.assigned_agent_id
        if role == "worker":
            # Checked before "nothing to change": the loser of a race for a task must hear
            # that someone else holds it, not get a quiet success.
            assert isinstance(actor, Agent)
            _check_worker_may_touch(actor, task)
        wanted = _effective(task, _normalize(changes, board, task))
        if not wanted:
            return _comment_only(actor, role, task, comment)
        _check_may_change(role, actor, board, task, old_status, wanted)
        if comment is not None:
            _check_may_comment(role, actor, task)
        if "depends_on" in wanted:
            _check_no_cycle(task, wanted["depends_on"])
        for name in (*SIMPLE_FIELDS, "assigned_agent"):
            if name in wanted:
                setattr(task, name, wanted[name])
        _apply_transition(role, actor, board, task, old_status, wanted)
        _check_not_blocked(task, old_status, old_assignee_id, wanted)
        _check_gates(board, task, old_status, old_assignee_id, comment)
        task.updated_at = timezone.now()
        task.save()
        _save_relations(task, wanted)
        comment_row = _comment(actor, task, comment) if comment is not None else None
        _record_update(actor, task, old_status, wanted, comment_row)
        if old_status == Status.DONE and task.status != Status.DONE:
            _reopen_dependents(actor, task)
    return task


def _comment_only(actor: Actor, role: str, task: Task, comment: str | None) -> Task:
    if comment is not None:
        _check_may_comment(role, actor, task)
        row = _comment(actor, task, comment)
        activity.record("task.commented", actor=actor, task=task, board=task.board,
                        message=f"Commented on {task.title}", data={"comment_id": str(row.pk)})
    return task


def _record_update(actor: Actor, task: Task, old_status: str, wanted: dict[str, Any],
                   comment: TaskComment | None) -> None:
    # Clients read these names next to the task's fields, so they are the API's names.
    data: dict[str, Any] = {"changes": sorted(API_FIELD_NAMES.get(name, name) for name in wanted)}
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


def delete_task(actor: Actor, task: Task) -> None:
    """Remove a task; leads and people of the organization delete. Its activity stays."""
    board = task.board
    role = actor_role(actor, board)
    if role == "main":
        raise _refuse_main()
    if role == "worker":
        raise RuleViolation(403, "lead_required", "Only the board lead deletes tasks.")
    with transaction.atomic():
        task_id, title = task.pk, task.title
        task.delete()
        activity.record("task.deleted", actor=actor, task=task_id, board=board, message=f"Deleted {title}",
                        data={"title": title})


# --- comments -------------------------------------------------------------------------------


def _check_may_comment(role: str, actor: Actor, task: Task) -> None:
    _require_board_worker_or_person(role)
    if role == "worker":
        assert isinstance(actor, Agent)
        _check_worker_may_touch(actor, task)


def add_comment(actor: Actor, task: Task, message: str) -> TaskComment:
    """A comment on a task by a person of its organization, its lead, or a worker holding it."""
    role = actor_role(actor, task.board)
    _check_may_comment(role, actor, task)
    text = _comment_text(message)
    assert text is not None
    with transaction.atomic():
        row = _comment(actor, task, text)
        activity.record("task.commented", actor=actor, task=task, board=task.board,
                        message=f"Commented on {task.title}", data={"comment_id": str(row.pk)})
    return row


# --- approvals ------------------------------------------------------------------------------


def _approval_reason(data: dict[str, Any]) -> str:
    payload = data.get("payload") or {}
    decision = payload.get("decision") if isinstance(payload, dict) else None
    for candidate in (data.get("lead_reasoning"),
                      payload.get("reason") if isinstance(payload, dict) else None,
                      decision.get("reason") if isinstance(decision, dict) else None):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    raise RuleViolation(422, "approval_reason_required",
                        "An approval needs a reason: lead_reasoning, payload.reason or payload.decision.reason.")


def _approval_numbers(data: dict[str, Any]) -> tuple[int, dict[str, int]]:
    confidence = data.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence <= 100:
        raise RuleViolation(422, "confidence_out_of_range", "confidence must be a number from 0 to 100.",
                            field="confidence")
    scores = data.get("rubric_scores") or {}
    if not isinstance(scores, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in scores.items()):
        raise RuleViolation(422, "rubric_scores_invalid", "rubric_scores must map names to whole numbers.",
                            field="rubric_scores")
    # Half up (85.5 -> 86): Python's round() would send halves to the even neighbour.
    return math.floor(confidence + 0.5), scores


def _approval_tasks(data: dict[str, Any], board: Board) -> list[Task]:
    ids = _uuid_list(data.get("task_ids") or [], "task_ids")
    if data.get("task_id") is not None:
        ids = list(dict.fromkeys([_uuid(data["task_id"], "task_id"), *ids]))
    found = {t.pk: t for t in Task.objects.filter(pk__in=ids, board_id=board.pk)}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise RuleViolation(422, "task_not_on_board", "Approval tasks must be tasks of this board.", task_ids=missing)
    return [found[i] for i in ids]


def _check_no_pending_approval(tasks: list[Task]) -> None:
    conflicting = sorted({str(pk) for pk in ApprovalTask.objects.filter(
        task__in=tasks, is_pending=True).values_list("approval_id", flat=True)})
    if conflicting:
        raise RuleViolation(409, "task_has_pending_approval", "A task may have only one pending approval.",
                            conflicting_approval_ids=conflicting)


def request_approval(actor: Actor, board: Board, data: dict[str, Any]) -> Approval:
    """A pending approval on ``board``, asked by a board agent or a person of the organization."""
    role = actor_role(actor, board)
    _require_board_worker_or_person(role)
    if data.get("status", Approval.Status.PENDING) != Approval.Status.PENDING:
        raise RuleViolation(422, "approval_must_be_pending",
                            "Approvals are created pending; a person approves or rejects them.", field="status")
    action_type = data.get("action_type")
    if not isinstance(action_type, str) or not action_type.strip():
        raise RuleViolation(422, "action_type_required", "An approval needs an action_type.", field="action_type")
    reason = _approval_reason(data)
    confidence, scores = _approval_numbers(data)
    payload = data.get("payload") or {}
    if not isinstance(payload, dict):
        raise RuleViolation(422, "payload_invalid", "payload must be an object.", field="payload")
    lead_reasoning = data.get("lead_reasoning") or ""
    if not isinstance(lead_reasoning, str):
        raise RuleViolation(422, "lead_reasoning_invalid", "lead_reasoning must be text.", field="lead_reasoning")
    if lead_reasoning.strip() and not payload.get("reason"):
        # Agents and older clients read the reason from payload.reason.
        payload = {**payload, "reason": lead_reasoning}
    with transaction.atomic():
        tasks = _approval_tasks(data, board)
        _check_no_pending_approval(tasks)
        approval = Approval.objects.create(
            board=board, action_type=action_type.strip(), payload=payload, confidence=confidence,
            rubric_scores=scores, lead_reasoning=lead_reasoning,
            agent=actor if isinstance(actor, Agent) else None,
            requested_by_user=actor if isinstance(actor, User) else None)
        _link_tasks(approval, tasks)
        activity.record("approval.requested", actor=actor, board=board, task=tasks[0] if len(tasks) == 1 else None,
                        message=f"Approval requested: {approval.action_type}",
                        data={"approval_id": str(approval.pk), "task_ids": [str(t.pk) for t in tasks],
                              "reason": reason, "confidence": confidence})
    return approval


def _link_tasks(approval: Approval, tasks: list[Task]) -> None:
    try:
        # The partial unique index is the last word when two requests race past the check.
        with transaction.atomic():
            ApprovalTask.objects.bulk_create(ApprovalTask(approval=approval, task=t, is_pending=True) for t in tasks)
    except IntegrityError:
        _check_no_pending_approval(tasks)
        raise


def resolve_approval(user: Actor, approval: Approval, status: str) -> Approval:
    """Approve or reject a pending approval; any person of the organization. The board lead is told."""
    if isinstance(user, Agent):
        raise RuleViolation(403, "only_people_resolve_approvals", "Only people approve or reject approvals.")
    board = approval.board
    actor_role(user, board)  # 404 for people outside the organization
    if status not in (Approval.Status.APPROVED, Approval.Status.REJECTED):
        raise RuleViolation(422, "invalid_resolution", "status must be approved or rejected.", field="status")
    with transaction.atomic():
        approval = Approval.objects.select_for_update().select_related("board").get(pk=approval.pk)
        if approval.status != Approval.Status.PENDING:
            raise RuleViolation(409, "approval_already_resolved", f"This approval is already {approval.status}.")
        approval.status, approval.resolved_by, approval.resolved_at = status, user, timezone.now()
        approval.save(update_fields=["status", "resolved_by", "resolved_at"])
        ApprovalTask.objects.filter(approval=approval).update(is_pending=False)
        lead = _board_lead(board)
        _tell_lead(user, approval, lead)
        activity.record("approval.resolved", actor=user, board=board, agent=lead,
                        message=f"Approval {status}: {approval.action_type}",
                        data={"approval_id": str(approval.pk), "status": status,
                              "task_ids": [str(pk) for pk in approval.task_links.values_list("task_id", flat=True)],
                              "lead_agent_id": str(lead.pk) if lead else None})
    return approval


def _tell_lead(user: User, approval: Approval, lead: Agent | None) -> BoardMemory:
    """Leads read board memory on every heartbeat: the decision reaches them there."""
    who = user.get_full_name() or user.get_username()
    to = f"@{lead.name}: " if lead is not None else ""
    return BoardMemory.objects.create(
        board=approval.board, author_user=user, source="approval",
        tags=["approval", f"approval:{approval.status}"],
        content=f"{to}approval {approval.pk} ({approval.action_type}) was {approval.status} by {who}.")


# --- board memory ---------------------------------------------------------------------------


def create_memory(actor: Actor, board: Board, data: dict[str, Any]) -> BoardMemory:
    """A note or chat message on the board; the tag ``chat`` makes it chat."""
    role = actor_role(actor, board)
    _require_board_worker_or_person(role)
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
    return memory


# --- agents ---------------------------------------------------------------------------------

AGENT_NAME_MAX_LENGTH = 200


def _agent_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise RuleViolation(422, "agent_name_required", "An agent needs a name.", field="name")
    name = name.strip()
    if len(name) > AGENT_NAME_MAX_LENGTH:
        raise RuleViolation(422, "agent_name_too_long", f"A name has at most {AGENT_NAME_MAX_LENGTH} characters.",
                            field="name")
    return name


def check_board_has_room(board: Board, name: str, lead: bool, exclude: Agent | None = None) -> None:
    """409 when the board is full (for a new agent), has an agent of that name, or already has
    a lead and ``lead`` is asked for. ``exclude``: the agent being changed."""
    agents = Agent.objects.filter(board=board)
    if exclude is not None:
        agents = agents.exclude(pk=exclude.pk)
    else:
        count = agents.count()
        if count >= board.max_agents:
            raise RuleViolation(409, "board_full",
                                f"The board already has {count} agents, its maximum of {board.max_agents}.",
                                max_agents=board.max_agents)
    if agents.filter(name__iexact=name).exists():
        raise RuleViolation(409, "agent_name_taken", f"The board already has an agent named {name!r}.")
    if lead and agents.filter(is_board_lead=True).exists():
        raise RuleViolation(409, "board_has_lead", "The board already has a lead.")


def save_agent(agent: Agent, save: Any) -> Any:
    """Runs ``save``; the database constraints settle races the checks cannot see."""
    try:
        with transaction.atomic():
            return save()
    except IntegrityError as exc:
        if agent.board_id is None:
            raise RuleViolation(409, "gateway_has_main_agent", "This gateway already has a main agent.") from exc
        raise RuleViolation(409, "agent_name_taken",
                            "The board already has an agent of that name, or already has a lead.") from exc


def create_agent(actor: Actor, *, name: str, board: Board | None = None, gateway: Gateway | None = None,
                 is_board_lead: bool = False) -> tuple[Agent, str]:
    """A new agent and its token (shown once): on ``board`` (its gateway by default), or without
    a board as ``gateway``'s main agent.

    The caller has checked that ``actor`` may add agents there (an admin of the organization,
    or the board's lead). Refusals: 422 for a bad name or shape, 409 when the board is full,
    the name is taken on the board, the board has a lead, or the gateway has a main agent."""
    name = _agent_name(name)
    with transaction.atomic():
        if board is not None:
            # The board row lock serializes concurrent creates, so two cannot both take the last seat.
            board = Board.objects.select_for_update().get(pk=board.pk)
            check_board_has_room(board, name, is_board_lead)
            agent = Agent(name=name, board=board, organization_id=board.organization_id,
                          gateway=gateway if gateway is not None else board.gateway, is_board_lead=is_board_lead)
        else:
            if gateway is None:
                raise RuleViolation(422, "gateway_required",
                                    "An agent without a board is its gateway's main agent: give gateway_id or board_id.",
                                    field="gateway_id")
            if is_board_lead:
                raise RuleViolation(422, "lead_needs_board", "Only an agent on a board can be its lead.",
                                    field="is_board_lead")
            if Agent.objects.filter(gateway=gateway, board__isnull=True).exists():
                raise RuleViolation(409, "gateway_has_main_agent", "This gateway already has a main agent.")
            agent = Agent(name=name, board=None, organization_id=gateway.organization_id, gateway=gateway)
        token = save_agent(agent, lambda: mint_token(agent))
        by = f"{actor.name} added" if isinstance(actor, Agent) else "Created"
        activity.record("agent.created", actor=actor, board=agent.board_id, agent=agent,
                        organization=agent.organization_id, message=f"{by} the {agent.role} agent {agent.name}",
                        data={"name": agent.name, "role": agent.role, "is_board_lead": agent.is_board_lead})
    return agent, token


# --- reading helpers for views ---------------------------------------------------------------


def blocked_by_map(task_ids: Iterable[Any]) -> dict[Any, list[Any]]:
    """Unfinished dependencies of each task, in one query (for lists and snapshots)."""
    result: dict[Any, list[Any]] = {}
    for task_id, dep_id in (TaskDependency.objects.filter(task_id__in=list(task_ids))
                            .exclude(depends_on__status=Status.DONE).values_list("task_id", "depends_on_id")):
        result.setdefault(task_id, []).append(dep_id)
    return result
