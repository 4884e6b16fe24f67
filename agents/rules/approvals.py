"""Approvals: agents and people ask (``pending`` only), people decide; the lead is told."""

from __future__ import annotations

import math
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from agents import activity
from agents.gateway import events
from agents.models import Agent, Approval, ApprovalTask, Board, BoardMemory, Task, User
from agents.queries import board_lead
from agents.refusals import RuleViolation
from agents.rules.actors import Actor, actor_role, require_board_worker_or_person
from agents.rules.inputs import uuid_list, uuid_value


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
    ids = uuid_list(data.get("task_ids") or [], "task_ids")
    if data.get("task_id") is not None:
        ids = list(dict.fromkeys([uuid_value(data["task_id"], "task_id"), *ids]))
    found = {t.pk: t for t in Task.objects.filter(pk__in=ids, board_id=board.pk)}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise RuleViolation(422, "task_not_on_board", "Approval tasks must be tasks of this board.", task_ids=missing)
    return [found[i] for i in ids]


def _check_worker_holds(role: str, actor: Actor, tasks: list[Task]) -> None:
    """A worker asks only about tasks it holds: a pending approval on someone else's task
    would block its holder (one pending approval per task, and the pending-approval gate)."""
    if role != "worker":
        return
    not_held = [str(t.pk) for t in tasks if t.assigned_agent_id != actor.pk]
    if not_held:
        raise RuleViolation(403, "approval_task_not_held",
                            "A worker asks for approvals only on tasks assigned to it; the lead or a person "
                            "may ask about any task.", task_ids=not_held)


def _check_no_pending_approval(tasks: list[Task]) -> None:
    conflicting = sorted({str(pk) for pk in ApprovalTask.objects.filter(
        task__in=tasks, is_pending=True).values_list("approval_id", flat=True)})
    if conflicting:
        raise RuleViolation(409, "task_has_pending_approval", "A task may have only one pending approval.",
                            conflicting_approval_ids=conflicting)


def request_approval(actor: Actor, board: Board, data: dict[str, Any]) -> Approval:
    """A pending approval on ``board``, asked by a person of the organization, the board's
    lead, or a worker about tasks it holds."""
    role = actor_role(actor, board)
    require_board_worker_or_person(role)
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
        _check_worker_holds(role, actor, tasks)
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
        lead = board_lead(board)
        _tell_lead(user, approval, lead)
        events.approval_resolved(approval, lead)
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

