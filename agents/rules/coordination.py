"""Agents talking to agents: the main agent and the leads, a lead and its workers.

- The **main agent** asks a board's lead a question or hands work to it (the lead is
  created when the board has none), or sends the same to every lead of its
  organization. Leads answer in board memory, where the main agent reads.
- A **lead** nudges an agent of its board, asks the people behind the gateway's main
  agent a question (the answer comes back in board memory), reads and rewrites a
  worker's SOUL.md, and retires a worker (removed here and on its gateway).

Messages go through the outbox (``agents.gateway.outbox``) in the transaction that
records them: the answer to the caller means "queued", and the worker delivers in order
with retries. Only agents on a gateway can be sent anything (409 otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from agents import activity
from agents.gateway import cleanup, events, files, outbox
from agents.gateway.errors import GatewayError
from agents.models import Agent, AgentMessage, Board
from agents.refusals import RuleViolation
from agents.rules.inputs import optional_text
from agents.rules.roster import TEMPLATE_MAX_LENGTH, create_agent
from missioncontrol.lookups import parse_uuid

MESSAGE_MAX_LENGTH = 20_000
LEAD_NAME = "Lead Agent"
MAIN_REPLY_TAGS = ["gateway_main", "lead_reply"]
MAIN_REPLY_SOURCE = "lead_to_gateway_main"
USER_REPLY_TAGS = ["gateway_main", "user_reply"]
USER_REPLY_SOURCE = "user_via_gateway_main"
KINDS = ("question", "handoff")


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleViolation(422, f"{field}_required", f"{field} must be a non-empty text.", field=field)
    if len(value) > MESSAGE_MAX_LENGTH:
        raise RuleViolation(422, f"{field}_too_long", f"{field} may have at most {MESSAGE_MAX_LENGTH:,} characters.",
                            field=field)
    return value.strip()


def _tags(value: Any, default: list[str], field: str) -> list[str]:
    if value is None:
        return list(default)
    if not isinstance(value, list) or not all(isinstance(tag, str) and tag.strip() for tag in value):
        raise RuleViolation(422, f"{field}_invalid", f"{field} must be a list of non-empty texts.", field=field)
    return [tag.strip()[:100] for tag in value][:20]


def _reply_source(value: Any, default: str) -> str:
    return optional_text(value, "reply_source", max_length=200).strip() or default


def _on_gateway(agent: Agent, what: str) -> None:
    if agent.gateway_id is None:
        raise RuleViolation(409, "agent_not_on_gateway",
                            f"{agent.name} is not on a gateway, so {what} cannot reach it; write in board memory "
                            "or a task comment instead, which it reads on its heartbeat.",
                            agent_id=str(agent.pk))


def board_agent(board: Board, agent_id: Any) -> Agent | None:
    pk = parse_uuid(agent_id)
    return Agent.objects.select_related("gateway").filter(pk=pk, board_id=board.pk).first() if pk else None


def _the_board_agent(board: Board, agent_id: Any) -> Agent:
    agent = board_agent(board, agent_id)
    if agent is None:
        raise RuleViolation(404, "agent_not_found", "No such agent on this board.")
    return agent


def _require_lead_of(lead: Agent, board: Board) -> None:
    if not lead.is_board_lead or lead.board_id != board.pk:
        raise RuleViolation(403, "lead_required", "Only the lead of this board may do this.")


def _require_main(agent: Agent) -> None:
    if agent.board_id is not None or agent.gateway_id is None:
        raise RuleViolation(403, "main_agent_required", "Only a gateway's main agent may do this.")


def _correlation(data: dict[str, Any]) -> str:
    return optional_text(data.get("correlation_id"), "correlation_id", max_length=200)


# --- a lead and the agents of its board ----------------------------------------------------


def nudge(lead: Agent, board: Board, agent_id: Any, data: dict[str, Any]) -> AgentMessage:
    """Queues the lead's ``message`` for an agent of its board (to make it look at its work now)."""
    _require_lead_of(lead, board)
    target = _the_board_agent(board, agent_id)
    message = _text(data.get("message"), "message")
    if target.pk == lead.pk:
        raise RuleViolation(422, "cannot_nudge_yourself", "A lead nudges the agents of its board, not itself.")
    _on_gateway(target, "a nudge")
    with transaction.atomic():
        queued = outbox.notify(target, "nudge", "\n".join([
            f"NUDGE from your lead {lead.name}, board {board.name} ({board.pk}):", "", message, "",
            "Check in, then act on it.", events.answer("POST", "/heartbeat")]), board_id=board.pk)
        assert queued is not None  # on a gateway
        activity.record("agent.nudged", actor=lead, board=board, agent=target,
                        message=f"{lead.name} nudged {target.name}", data={"message_id": queued.pk})
    return queued


def read_soul(actor: Agent, board: Board, agent_id: Any) -> str:
    """The agent's SOUL.md as its workspace holds it (the gateway's copy, which the agent
    may have edited); for an agent not yet on a gateway, the one Mission Control would write."""
    target = _the_board_agent(board, agent_id)
    if not (actor.is_board_lead or actor.pk == target.pk):
        raise RuleViolation(403, "lead_or_self_required", "Only the lead or the agent itself reads its SOUL.md.")
    if target.gateway is None or not target.provisioned_at:
        return files.planned_file(target, "SOUL.md")
    try:
        return files.read_file(target, "SOUL.md")
    except GatewayError as exc:
        raise _gateway_failed("read SOUL.md of", target, exc) from exc


def write_soul(lead: Agent, board: Board, agent_id: Any, data: dict[str, Any]) -> Agent:
    """Replaces a worker's SOUL.md: in its workspace at once (when it is on a gateway), and as
    its ``soul_template``, which later provisioning writes again."""
    _require_lead_of(lead, board)
    target = _the_board_agent(board, agent_id)
    content = data.get("content")
    if not isinstance(content, str) or not content.strip():
        raise RuleViolation(422, "content_required", "content must be the new SOUL.md, not empty.", field="content")
    if len(content) > TEMPLATE_MAX_LENGTH:
        raise RuleViolation(422, "content_too_long", f"SOUL.md may have at most {TEMPLATE_MAX_LENGTH:,} characters.",
                            field="content")
    reason = optional_text(data.get("reason"), "reason", max_length=1000)
    source_url = optional_text(data.get("source_url"), "source_url", max_length=2000)
    if target.gateway is not None and target.provisioned_at:
        try:
            files.write_file(target, "SOUL.md", content)
        except GatewayError as exc:
            raise _gateway_failed("write SOUL.md of", target, exc) from exc
    with transaction.atomic():
        Agent.objects.filter(pk=target.pk).update(soul_template=content)
        target.soul_template = content
        note = "".join([f" Reason: {reason}" if reason else "", f" Source: {source_url}" if source_url else ""])
        activity.record("agent.soul_updated", actor=lead, board=board, agent=target,
                        message=f"SOUL.md of {target.name} rewritten by {lead.name}.{note}",
                        data={"reason": reason, "source_url": source_url, "characters": len(content)})
    return target


def retire_worker(lead: Agent, board: Board, agent_id: Any) -> bool:
    """Removes a worker of the lead's board, here and (by the worker) on its gateway. False
    when there was no such agent any more (retiring twice is not an error)."""
    _require_lead_of(lead, board)
    pk = parse_uuid(agent_id)
    target = Agent.objects.filter(pk=pk).first() if pk else None
    if target is None:
        return False
    if target.board_id is None:
        raise RuleViolation(403, "cannot_retire_main_agent", "A lead cannot retire the gateway's main agent.")
    if target.board_id != board.pk:
        raise RuleViolation(404, "agent_not_found", "No such agent on this board.")
    if target.is_board_lead:
        raise RuleViolation(403, "cannot_retire_lead", "A lead cannot retire a lead; a person can.")
    with transaction.atomic():
        cleanup.schedule(target)
        activity.record("agent.retired", actor=lead, board=board, agent=target.pk,
                        message=f"{lead.name} retired {target.name}", data={"name": target.name})
        target.delete()
    return True


def ask_user(lead: Agent, board: Board, data: dict[str, Any]) -> tuple[Agent, AgentMessage]:
    """Queues the lead's question for the gateway's main agent, which reaches the people
    (its channels, or board chat); their answer comes back as board memory."""
    _require_lead_of(lead, board)
    content = _text(data.get("content"), "content")
    correlation = _correlation(data)
    channel = optional_text(data.get("preferred_channel"), "preferred_channel", max_length=100)
    tags = _tags(data.get("reply_tags"), USER_REPLY_TAGS, "reply_tags")
    source = _reply_source(data.get("reply_source"), USER_REPLY_SOURCE)
    gateway_id = board.gateway_id or lead.gateway_id
    main = Agent.objects.filter(gateway_id=gateway_id, board__isnull=True).first() if gateway_id else None
    if main is None:
        raise RuleViolation(409, "no_main_agent",
                            "The board's gateway has no main agent to reach people through; ask in board chat.")
    lines = [f"LEAD REQUEST: ASK THE USER, from {lead.name}, board {board.name} ({board.pk})."]
    lines += [f"Correlation id: {correlation}"] if correlation else []
    lines += [f"Preferred channel: {channel}"] if channel else []
    lines += ["", content, "",
              "Reach the person through your channels; if you cannot, ask in the board's chat.",
              "Write their answer to the board as a note (not chat):",
              events.answer("POST", f"/boards/{board.pk}/memory",
                            {"content": "<the answer>", "tags": tags, "source": source})]
    with transaction.atomic():
        queued = outbox.notify(main, "ask_user", "\n".join(lines), board_id=board.pk)
        assert queued is not None  # a main agent is on its gateway
        activity.record("gateway.ask_user", actor=lead, board=board, agent=main,
                        message=f"{lead.name} asked the people a question through {main.name}",
                        data={"message_id": queued.pk, "correlation_id": correlation})
    return main, queued


# --- the main agent and the leads ------------------------------------------------------------


@dataclass
class LeadMessage:
    board: Board
    lead: Agent
    lead_created: bool
    message: AgentMessage


def message_lead(main: Agent, board: Board, data: dict[str, Any]) -> LeadMessage:
    """Queues the main agent's question or hand-off for ``board``'s lead, creating the lead
    (on the board's gateway, else the main agent's) when the board has none."""
    _require_main(main)
    kind = data.get("kind") or "question"
    if kind not in KINDS:
        raise RuleViolation(422, "kind_invalid", "kind must be question or handoff.", field="kind")
    content = _text(data.get("content"), "content")
    correlation = _correlation(data)
    tags = _tags(data.get("reply_tags"), MAIN_REPLY_TAGS, "reply_tags")
    source = _reply_source(data.get("reply_source"), MAIN_REPLY_SOURCE)
    with transaction.atomic():
        lead = Agent.objects.filter(board_id=board.pk, is_board_lead=True).first()
        created = lead is None
        if lead is None:
            lead, _token = create_agent(main, name=_free_lead_name(board), board=board,
                                        gateway=board.gateway if board.gateway_id else main.gateway,
                                        is_board_lead=True, identity_profile={"role": "Board lead"})
        _on_gateway(lead, "the main agent's message")
        lines = [f"{'QUESTION' if kind == 'question' else 'HAND-OFF'} FROM THE MAIN AGENT {main.name}, "
                 f"board {board.name} ({board.pk})."]
        lines += [f"Correlation id: {correlation}"] if correlation else []
        lines += ["", content, "", "Answer with a note on the board (not chat); the main agent reads it there.",
                  events.answer("POST", f"/boards/{board.pk}/memory",
                                {"content": "<your answer>", "tags": tags, "source": source})]
        queued = outbox.notify(lead, f"main_{kind}", "\n".join(lines), board_id=board.pk)
        assert queued is not None
        activity.record("gateway.lead_message", actor=main, board=board, agent=lead,
                        message=f"{main.name} sent a {kind} to {lead.name}",
                        data={"message_id": queued.pk, "kind": kind, "correlation_id": correlation,
                              "lead_created": created})
    return LeadMessage(board=board, lead=lead, lead_created=created, message=queued)


def _free_lead_name(board: Board) -> str:
    taken = {name.lower() for name in Agent.objects.filter(board_id=board.pk).values_list("name", flat=True)}
    name, number = LEAD_NAME, 2
    while name.lower() in taken:
        name, number = f"{LEAD_NAME} {number}", number + 1
    return name


def broadcast_to_leads(main: Agent, data: dict[str, Any]) -> list[dict[str, Any]]:
    """:func:`message_lead` for every board of the main agent's organization (or those of
    ``board_ids``), each on its own: one board's refusal does not stop the others."""
    _require_main(main)
    boards = Board.objects.select_related("gateway").filter(organization_id=main.organization_id)
    wanted = data.get("board_ids")
    if wanted is not None:
        if not isinstance(wanted, list):
            raise RuleViolation(422, "board_ids_invalid", "board_ids must be a list of board ids.", field="board_ids")
        ids = [parse_uuid(value) for value in wanted]
        valid = [pk for pk in ids if pk is not None]
        if len(valid) != len(ids):
            raise RuleViolation(422, "board_ids_invalid", "board_ids must be a list of board ids.", field="board_ids")
        boards = boards.filter(pk__in=valid)
    results = []
    for board in boards.order_by("-created_at", "id"):
        try:
            sent = message_lead(main, board, data)
        except RuleViolation as refusal:
            if refusal.status_code == 422:
                raise  # the message itself is wrong: the same for every board
            results.append({"board_id": board.pk, "lead_agent_id": None, "lead_agent_name": None,
                            "lead_created": False, "ok": False, "error": refusal.message})
        else:
            results.append({"board_id": board.pk, "lead_agent_id": sent.lead.pk, "lead_agent_name": sent.lead.name,
                            "lead_created": sent.lead_created, "ok": True, "error": None})
    return results


def _gateway_failed(what: str, agent: Agent, exc: GatewayError) -> RuleViolation:
    return RuleViolation(502, "gateway_error", f"Could not {what} {agent.name} on its gateway: {exc.sentence}",
                         gateway_code=exc.code, retryable=exc.retryable)
