"""The gates every status change passes, and the dependency checks.

The five board gates apply to every status change by anyone, including on create (a new
task is treated as coming from ``inbox``). A task with an unfinished dependency is
blocked: it cannot be assigned or leave ``inbox``; dependencies never form a cycle.
"""

from __future__ import annotations

from typing import Any

from agents.models import Approval, ApprovalTask, Board, Task, TaskComment, TaskDependency
from agents.refusals import RuleViolation

Status = Task.Status
FINISH_ACTION = Approval.FINISH_ACTION


def is_new(task: Task) -> bool:
    # Ids are assigned on instantiation, so ``pk`` cannot tell a new task from a saved one.
    return task._state.adding


def unfinished_dependency_ids(task: Task, changes: dict[str, Any]) -> list[str]:
    if "depends_on" in changes:
        return sorted(str(t.pk) for t in changes["depends_on"] if t.status != Status.DONE)
    if is_new(task):
        return []
    return sorted(str(pk) for pk in Task.objects.filter(dependent_links__task_id=task.pk)
                  .exclude(status=Status.DONE).values_list("pk", flat=True))


def check_not_blocked(task: Task, old_status: str, old_assignee_id: Any, changes: dict[str, Any]) -> None:
    leaves_inbox = task.status != old_status and task.status != Status.INBOX
    gets_assigned = task.assigned_agent_id is not None and task.assigned_agent_id != old_assignee_id
    if not (leaves_inbox or gets_assigned):
        return
    blocked_by = unfinished_dependency_ids(task, changes)
    if blocked_by:
        raise RuleViolation(409, "task_blocked_cannot_transition",
                            "This task waits on unfinished dependencies: it cannot be assigned or leave inbox.",
                            blocked_by_task_ids=blocked_by)


def check_no_cycle(task: Task, dependencies: list[Task]) -> None:
    """Walk down from the new dependencies; reaching the task itself would close a loop."""
    if is_new(task):
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
    if not board.block_status_changes_with_pending_approval or is_new(task):
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


def left_done_or_review(old_status: str, new_status: str) -> bool:
    """A move that reopens the task's work: out of done, or out of review other than to done."""
    return old_status in (Status.DONE, Status.REVIEW) and new_status != old_status and new_status != Status.DONE


def _gate_approval_for_done(board: Board, task: Task, new_status: str) -> None:
    """Only an approval to finish this task (``mark_done``), approved, and asked for since the
    task last left done or review: an approval of something else, or one from before the
    task was reopened, does not say the present work is finished."""
    if not board.require_approval_for_done or new_status != Status.DONE:
        return
    approved = False
    if not is_new(task):
        links = ApprovalTask.objects.filter(task_id=task.pk, approval__status=Approval.Status.APPROVED,
                                            approval__action_type=FINISH_ACTION)
        if task.reopened_at is not None:
            links = links.filter(approval__created_at__gt=task.reopened_at)
        approved = links.exists()
    if not approved:
        raise RuleViolation(409, "approval_required_for_done",
                            f"On this board a task needs an approved {FINISH_ACTION} approval, asked for since "
                            "the task last left done or review, before it is done.")


def _gate_comment_for_review(board: Board, task: Task, old_assignee_id: Any, new_status: str,
                             comment: str | None) -> None:
    if not board.comment_required_for_review or new_status != Status.REVIEW or comment:
        return
    comments = TaskComment.objects.none()
    if not is_new(task) and old_assignee_id is not None:
        comments = TaskComment.objects.filter(task_id=task.pk, author_agent_id=old_assignee_id)
        if task.in_progress_at is not None:
            comments = comments.filter(created_at__gte=task.in_progress_at)
    if not comments.exists():
        raise RuleViolation(422, "comment_required_for_review",
                            "On this board moving to review needs a comment: in the same request, or by "
                            "the assignee since work started.")


def check_gates(board: Board, task: Task, old_status: str, old_assignee_id: Any, comment: str | None) -> None:
    new_status = task.status
    if new_status == old_status:
        return
    _gate_pending_approval(board, task)
    _gate_review_before_done(board, old_status, new_status)
    _gate_approval_for_done(board, task, new_status)
    _gate_comment_for_review(board, task, old_assignee_id, new_status, comment)
