"""What agents are told when their board changes, pushed through the outbox.

The rules call these in the transaction of the change. Each message says what happened,
the facts an agent needs, and the one API call that answers it: its last line is
``Answer with: METHOD URL [JSON body]``, where ``<...>`` marks a value the agent fills in
(the tests make each such call). Nobody is told about their own action, and nobody is
told twice about one change. Agents not on a gateway are skipped by the outbox: they
read the same facts on their heartbeat.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings

from agents.gateway import outbox
from agents.models import (
    Agent,
    Approval,
    Board,
    BoardGroup,
    BoardGroupMemory,
    BoardMemory,
    Task,
    TaskComment,
    User,
)

ANSWER = "Answer with:"
SNIPPET = 600
PAUSE, RESUME = "/pause", "/resume"
# The approval that lets a task reach done on a board that asks for one.
DONE_ACTION = Approval.FINISH_ACTION
# @name: letters, digits, dots, dashes, underscores; names with spaces are matched by prefix.
# ``@name``: up to four words; which agent it names is read against the board's agents.
MENTION = re.compile(r"(?<![\w@])@([\w][\w.-]*(?: [\w][\w.-]*){0,3})")


def api_url(path: str) -> str:
    return f"{settings.BASE_URL.rstrip('/')}/api/v1/agent{path}"


def answer(method: str, path: str, body: dict[str, Any] | None = None) -> str:
    line = f"{ANSWER} {method} {api_url(path)}"
    return line + (f" {json.dumps(body)}" if body is not None else "")


def who(actor: Any) -> str:
    if isinstance(actor, Agent):
        return f"{actor.name} ({actor.role})"
    if isinstance(actor, User):
        return f"{actor.get_full_name() or actor.get_username()} (a person)"
    return "Mission Control"


def snippet(text: str) -> str:
    text = text.strip()
    return text if len(text) <= SNIPPET else text[:SNIPPET - 1] + "…"


def _task_lines(task: Task) -> list[str]:
    lines = [f"Board: {task.board.name} ({task.board_id})", f"Task: {task.title} ({task.pk})",
             f"Status: {task.status}, priority {task.priority}"]
    if task.description.strip():
        lines.append(f"Description: {snippet(task.description)}")
    return lines


def _task_path(task: Task) -> str:
    return f"/boards/{task.board_id}/tasks/{task.pk}"


def _chat_answer(board: Board) -> str:
    return answer("POST", f"/boards/{board.pk}/memory", {"content": "<your message>", "tags": ["chat"]})


class Telling:
    """The messages of one change: each agent at most once, never the one who acted, all
    written together when the ``with`` block ends. It reads the board's agents once, with
    only the columns it needs."""

    def __init__(self, actor: Any, board: Board) -> None:
        self.actor, self.board = actor, board
        self.told: set[Any] = set()
        self.queued: list[tuple[Agent, str, str]] = []
        self._agents: list[Agent] | None = None

    def __enter__(self) -> Telling:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None and self.queued:
            outbox.notify_many(self.queued, board_id=self.board.pk)

    @property
    def agents(self) -> list[Agent]:
        if self._agents is None:
            self._agents = list(Agent.objects.filter(board_id=self.board.pk).only(*AGENT_COLUMNS).order_by("name"))
        return self._agents

    @property
    def anyone(self) -> bool:
        """Whether any agent of the board is on a gateway (most boards in tests, and many
        in use, have none: then there is nothing to do)."""
        return any(agent.gateway_id is not None for agent in self.agents)

    @property
    def lead(self) -> Agent | None:
        return next((agent for agent in self.agents if agent.is_board_lead), None)

    def agent(self, pk: Any) -> Agent | None:
        return next((agent for agent in self.agents if agent.pk == pk), None) if pk is not None else None

    def send(self, agent: Agent | None, kind: str, lines: list[str]) -> None:
        if agent is None or agent.pk in self.told:
            return
        if isinstance(self.actor, Agent) and self.actor.pk == agent.pk:
            return
        self.told.add(agent.pk)
        self.queued.append((agent, kind, "\n".join(lines)))


AGENT_COLUMNS = ("id", "name", "board_id", "gateway_id", "organization_id", "is_board_lead")


# --- tasks ------------------------------------------------------------------------------------


def _plan_answer(task: Task) -> str:
    return answer("PATCH", _task_path(task), {"assigned_agent_id": "<worker id>", "status": "in_progress"})


def task_created(actor: Any, task: Task) -> None:
    with Telling(actor, task.board) as telling:
        if not telling.anyone:
            return
        assignee = telling.agent(task.assigned_agent_id)
        if assignee is not None:
            _assigned(telling, task)
        if assignee is not None and not assignee.is_board_lead:
            plan = [f"It is assigned to {assignee.name}; follow it in its comments.",
                    answer("GET", _task_path(task) + "/comments")]
        else:
            plan = ["Plan it: give it to a worker (their ids: GET " + api_url("/agents") + "), or leave it in the "
                    "inbox.", _plan_answer(task)]
        telling.send(telling.lead, "task_created", [
            f"NEW TASK on your board, from {who(actor)}.", *_task_lines(task), *plan])


def _assigned(telling: Telling, task: Task) -> None:
    assignee = telling.agent(task.assigned_agent_id)
    if assignee is None or assignee.is_board_lead:
        return
    if task.status == Task.Status.INBOX:
        reply = answer("PATCH", _task_path(task), {"status": "in_progress", "comment": "<what you will do first>"})
    else:
        reply = answer("POST", _task_path(task) + "/comments", {"message": "<what you have done so far>"})
    telling.send(assignee, "task_assigned", [f"TASK ASSIGNED TO YOU by {who(telling.actor)}.", *_task_lines(task),
                                             "Work on it and report with task comments; move it to review when "
                                             "it is done.", reply])


def task_changed(actor: Any, task: Task, old_status: str, old_assignee_id: Any, comment: TaskComment | None) -> None:
    """After an update: review asked, changes requested, back in the inbox, a new assignee,
    and the comment that came with the change."""
    with Telling(actor, task.board) as telling:
        if not telling.anyone:
            return
        status = task.status
        moved = status != old_status
        if moved and status == Task.Status.REVIEW:
            _review_requested(telling, task)
        elif moved and old_status == Task.Status.REVIEW and status == Task.Status.INBOX and task.assigned_agent_id:
            _changes_requested(telling, task, comment)
        elif moved and status == Task.Status.INBOX and task.assigned_agent_id is None:
            telling.send(telling.lead, "back_in_inbox", [
                f"TASK BACK IN THE INBOX, unassigned, by {who(actor)}.", *_task_lines(task),
                "Give it to another worker, or change the plan.", _plan_answer(task)])
        if task.assigned_agent_id != old_assignee_id:
            _assigned(telling, task)
        if comment is not None:
            _comment(telling, task, comment)


def _review_requested(telling: Telling, task: Task) -> None:
    board = task.board
    if board.require_approval_for_done:
        reply = answer("POST", f"/boards/{board.pk}/approvals",
                       {"action_type": DONE_ACTION, "task_id": str(task.pk), "confidence": 80,
                        "lead_reasoning": "<why the work is done>"})
        what = "Read its comments; ask for the approval that lets it be done, or send it back to the inbox " \
               "with a comment saying what is missing."
    else:
        reply = answer("PATCH", _task_path(task), {"status": "done", "comment": "<what you checked>"})
        what = "Read its comments; move it to done, or send it back to the inbox with a comment saying " \
               "what is missing."
    telling.send(telling.lead, "review_requested",
                 [f"TASK READY FOR YOUR REVIEW, from {who(telling.actor)}.", *_task_lines(task), what, reply])


def _changes_requested(telling: Telling, task: Task, comment: TaskComment | None) -> None:
    feedback = comment.message if comment is not None else (
        TaskComment.objects.filter(task=task, author_agent__is_board_lead=True)
        .order_by("-created_at").values_list("message", flat=True).first())
    telling.send(telling.agent(task.assigned_agent_id), "changes_requested", [
        f"CHANGES REQUESTED by {who(telling.actor)}.", *_task_lines(task),
        f"What is missing: {snippet(feedback) if feedback else '(no comment: read the task comments)'}",
        "Do it, then move the task to review again.",
        answer("PATCH", _task_path(task), {"status": "in_progress", "comment": "<what you will change>"})])


# --- comments, chat and mentions ----------------------------------------------------------


def mentioned(board_agents: list[Agent], text: str) -> list[Agent]:
    """The agents among ``board_agents`` that ``text`` names with ``@name`` (``@lead``: the lead)."""
    names = [match.strip().lower() for match in MENTION.findall(text)]
    if not names:
        return []
    agents = sorted(board_agents, key=lambda a: -len(a.name))
    found: dict[Any, Agent] = {}
    for name in names:
        for agent in agents:
            if (name.startswith("lead") and agent.is_board_lead) or name.startswith(agent.name.lower()):
                found[agent.pk] = agent
                break
    return list(found.values())


def _comment(telling: Telling, task: Task, comment: TaskComment) -> None:
    reply = answer("POST", _task_path(task) + "/comments", {"message": "<your reply>"})
    for agent in mentioned(telling.agents, comment.message):
        telling.send(agent, "mention", [f"YOU WERE MENTIONED by {who(telling.actor)} in a task comment.",
                                        *_task_lines(task), f"Comment: {snippet(comment.message)}",
                                        "Reply on the task; change its status only if you hold it.", reply])
    telling.send(telling.agent(task.assigned_agent_id), "comment", [f"NEW COMMENT on your task, from {who(telling.actor)}.",
                                                  *_task_lines(task), f"Comment: {snippet(comment.message)}", reply])


def commented(actor: Any, task: Task, comment: TaskComment) -> None:
    with Telling(actor, task.board) as telling:
        if telling.anyone:
            _comment(telling, task, comment)


def memory_written(actor: Any, memory: BoardMemory) -> None:
    """Board chat: /pause and /resume go to every agent of the board, mentions to whoever is
    named, and a person's message to the lead."""
    if not memory.is_chat:
        return
    board = memory.board
    with Telling(actor, board) as telling:
        if not telling.anyone:
            return
        content = memory.content.strip()
        command = content.lower()
        if command in (PAUSE, RESUME):
            what = ("The board is PAUSED: finish the step you are on, then take no new work and change no task "
                    "until /resume." if command == PAUSE else "The board is RESUMED: carry on with your work.")
            for agent in telling.agents:
                telling.send(agent, "board_paused" if command == PAUSE else "board_resumed", [
                    f"{command} from {who(actor)} on board {board.name} ({board.pk}).", what,
                    "Say so in board chat if a person is waiting for you.", _chat_answer(board)])
            return
        for agent in mentioned(telling.agents, content):
            telling.send(agent, "chat_mention", [f"YOU WERE MENTIONED in board chat by {who(actor)}.",
                                                 f"Board: {board.name} ({board.pk})", f"Message: {snippet(content)}",
                                                 _chat_answer(board)])
        if isinstance(actor, User):
            telling.send(telling.lead, "chat", [f"BOARD CHAT from {who(actor)}.",
                                                f"Board: {board.name} ({board.pk})", f"Message: {snippet(content)}",
                                                _chat_answer(board)])


BROADCAST_TAG = "broadcast"
_ALL = re.compile(r"(?<![\w@])@all\b", re.IGNORECASE)


def _group_url(board: Board, route: str) -> str:
    return f"{settings.BASE_URL.rstrip('/')}/api/v1/boards/{board.pk}/{route}"


def _group_chat_answer(board: Board) -> str:
    return f"{ANSWER} POST {_group_url(board, 'group-memory')} " + json.dumps(
        {"content": "<your message>", "tags": ["chat"]})


def board_group_changed(actor: Any, board: Board, group: BoardGroup, joined: bool) -> None:
    """A board joined or left ``group``: the lead of every board of the group, and of the
    board itself, is told, to coordinate (or stop coordinating) across them."""
    verb = "joined" if joined else "left"
    boards = list(Board.objects.filter(group_id=group.pk).exclude(pk=board.pk).order_by("name", "id"))
    for recipient in [board, *boards]:
        with Telling(actor, recipient) as telling:
            lead = telling.lead
            if lead is None or lead.gateway_id is None:
                continue
            if recipient.pk == board.pk and not joined:
                lines = [f"YOUR BOARD LEFT THE GROUP {group.name} ({group.pk}), by {who(actor)}.",
                         f"Board: {board.name} ({board.pk})",
                         "Treat work shared with the group's boards as yours alone again; re-check handoffs.",
                         answer("GET", f"/boards/{board.pk}")]
            else:
                lines = [f"BOARD GROUP CHANGED: {board.name} ({board.pk}) {verb} the group {group.name} "
                         f"({group.pk}), by {who(actor)}.", f"Your board: {recipient.name} ({recipient.pk})",
                         "Read what the group's boards are doing before work that may overlap.",
                         f"{ANSWER} GET {_group_url(recipient, 'group-snapshot')}"]
            telling.send(lead, "group_changed", lines)


def board_group_deleted(actor: Any, boards: list[Board], group: BoardGroup) -> None:
    """The group is gone: the lead of each of its boards is told its board is in no group."""
    for board in boards:
        with Telling(actor, board) as telling:
            lead = telling.lead
            if lead is None or lead.gateway_id is None:
                continue
            telling.send(lead, "group_changed", [
                f"BOARD GROUP DELETED: {group.name} ({group.pk}), by {who(actor)}.",
                f"Your board: {board.name} ({board.pk}) is in no group now; its group memory is gone.",
                "Treat work shared with the other boards as yours alone again; re-check handoffs.",
                answer("GET", f"/boards/{board.pk}")])


def group_memory_written(actor: Any, memory: BoardGroupMemory) -> None:
    """Group chat: the lead of each board of the group and the agents it mentions hear of it;
    the tag ``broadcast`` or ``@all`` reaches every agent of the group's boards."""
    if not memory.is_chat:
        return
    group = memory.group
    content = memory.content.strip()
    broadcast = BROADCAST_TAG in memory.tags or bool(_ALL.search(content))
    header = "GROUP BROADCAST" if broadcast else "GROUP CHAT"
    for board in Board.objects.filter(group_id=group.pk).order_by("name", "id"):
        with Telling(actor, board) as telling:
            if not telling.anyone:
                continue
            facts = [f"Group: {group.name} ({group.pk})", f"Your board: {board.name} ({board.pk})",
                     f"Message: {snippet(content)}", _group_chat_answer(board)]
            for agent in mentioned(telling.agents, content):
                telling.send(agent, "group_chat_mention", [f"YOU WERE MENTIONED in group chat by {who(actor)}.",
                                                           *facts])
            told: list[Agent | None] = list(telling.agents) if broadcast else [telling.lead]
            for recipient in told:
                telling.send(recipient, "group_broadcast" if broadcast else "group_chat",
                             [f"{header} from {who(actor)}.", *facts])


# --- approvals and boards -------------------------------------------------------------------


def approval_resolved(approval: Approval, lead: Agent | None) -> None:
    if lead is None or lead.gateway_id is None:
        return
    board = approval.board
    task_ids = [str(pk) for pk in approval.task_links.values_list("task_id", flat=True)]
    lines = [f"APPROVAL {approval.status.upper()}: {approval.action_type}", f"Board: {board.name} ({board.pk})",
             f"Approval: {approval.pk}", f"Tasks: {', '.join(task_ids) or 'none'}"]
    if approval.status == Approval.Status.APPROVED and len(task_ids) == 1:
        lines += ["Carry on with the decision.",
                  answer("PATCH", f"/boards/{board.pk}/tasks/{task_ids[0]}",
                         {"status": "done", "comment": "<what was approved>"})]
    else:
        lines += ["Read the decision and adjust the plan.",
                  answer("GET", f"/boards/{board.pk}/approvals?status={approval.status}")]
    with Telling(approval.resolved_by, board) as telling:
        telling.send(lead, "approval_resolved", lines)


def board_changed(actor: Any, board: Board, fields: list[str]) -> None:
    if not fields:
        return
    with Telling(actor, board) as telling:
        lead = telling.lead
        if lead is None or lead.gateway_id is None:
            return
        telling.send(lead, "board_changed", [
            f"BOARD CHANGED by {who(actor)}: {', '.join(fields)}.", f"Board: {board.name} ({board.pk})",
            "Read the board's objective and rules again and adjust the plan.", answer("GET", f"/boards/{board.pk}")])
