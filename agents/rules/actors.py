"""Who is acting, and what their role on a board lets them touch at all."""

from __future__ import annotations

from django.http import Http404

from agents.access import agent_can_reach, board_access_of
from agents.models import Agent, Board, Task, User
from agents.refusals import RuleViolation

Actor = User | Agent


def actor_role(actor: Actor, board: Board) -> str:
    """``person``, ``lead``, ``worker`` or ``main`` for ``actor`` on ``board``.

    People outside the organization, and members not granted the board, get 404; members
    who may only read it get 403 ``board_read_only``; agents outside their reach get 403."""
    if isinstance(actor, Agent):
        if not agent_can_reach(actor, board):
            raise RuleViolation(403, "board_out_of_reach", "This board is outside the agent's reach.")
        return actor.role
    reach = board_access_of(actor, board)
    if reach is None:
        raise Http404
    if reach == "read":
        raise RuleViolation(403, "board_read_only",
                            "You may read this board but not change it; ask an owner or admin for write access.")
    # Every role of the organization works on its boards; admin-only objects are elsewhere.
    return "person"


def refuse_main() -> RuleViolation:
    return RuleViolation(403, "board_agents_only", "Only the board's lead and workers may do this.")


def require_board_worker_or_person(role: str) -> None:
    if role == "main":
        raise refuse_main()


def check_worker_may_touch(worker: Agent, task: Task) -> None:
    if task.assigned_agent_id not in (None, worker.pk):
        raise RuleViolation(403, "task_assigned_to_someone_else",
                            "Workers may only act on tasks assigned to them or unassigned.")
