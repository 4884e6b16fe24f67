"""The outbox of messages to agents, and the job that pushes them through the gateway.

``notify`` writes a message in the caller's transaction (the change and its message
commit together) and, for an agent with nothing waiting, queues its delivery job a
moment later, so that events close together go as one message. The job sends the
agent's messages in the order they were written:

- it claims the oldest waiting batch with a conditional UPDATE on its first message, so
  two jobs never send for one agent at once (a dead job's claim runs out);
- a batch keeps its idempotency key across retries: the gateway answers a key it has
  seen with the outcome it already has instead of running the message again, and before
  a retry the job reads the session's history for the key, so a message that arrived
  before a worker died counts as sent;
- failures back off (``lifecycle.retry_delay``); after ``MAX_ATTEMPTS`` the batch is
  ``dead`` (an activity event, the console's agent page, ``resend``), and the next
  batch goes on.

Invariant: while an agent has a pending message, a delivery job for it is queued or
running. A job ends only after it found nothing pending under an exclusive per-agent
lock that ``notify`` holds shared until its transaction commits (Postgres advisory
locks; SQLite's IMMEDIATE transactions serialize writers already), so a message written
while the job finishes is never left without one.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from agents import activity
from agents.models import Agent, AgentMessage

logger = logging.getLogger("agents.gateway")

# Events for one agent this close together go as one message.
COALESCE_SECONDS = 2.0
MAX_ATTEMPTS = 8
BATCH_LIMIT = 20
# How long a job's claim on a batch holds; longer than the history read and the send take.
CLAIM_SECONDS = 120.0
HISTORY_LIMIT = 100
# 2026.9 prepares the agent's session before it answers chat.send: seconds when it is busy
# with many agents' turns, longer than the client's default wait on a loaded host.
SEND_TIMEOUT = 30.0

Status = AgentMessage.Status


def _lock_key(agent_id: uuid.UUID) -> int:
    return int.from_bytes(agent_id.bytes[:8], "big", signed=True)


def _hold(agent_ids: list[uuid.UUID], *, shared: bool) -> None:
    """The per-agent outbox locks, to the end of the current transaction (Postgres only)."""
    if db_connection.vendor != "postgresql" or not agent_ids:
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with db_connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(key) FROM unnest(%s::bigint[]) AS key",
                       [[_lock_key(pk) for pk in agent_ids]])


def notify(agent: Agent, kind: str, text: str, *, board_id: uuid.UUID | None = None,
           now: datetime | None = None) -> AgentMessage | None:
    """Queues ``text`` for ``agent`` (call inside the transaction of the change). None for an
    agent that is not on a gateway: it reads the same facts through the API."""
    queued = notify_many([(agent, kind, text)], board_id=board_id, now=now)
    return queued[0] if queued else None


def notify_many(items: Iterable[tuple[Agent, str, str]], *, board_id: uuid.UUID | None = None,
                now: datetime | None = None) -> list[AgentMessage]:
    """Queues each ``(agent, kind, text)`` in one write, in the given order, skipping agents
    off any gateway; a delivery job is queued for each agent that had nothing waiting."""
    from agents.gateway import tasks

    wanted = [(agent, kind, text) for agent, kind, text in items if agent.gateway_id is not None]
    if not wanted:
        return []
    now = now or timezone.now()
    agents = {agent.pk: agent for agent, _kind, _text in wanted}
    with transaction.atomic():
        _hold(list(agents), shared=True)
        waiting = set(AgentMessage.objects.filter(agent_id__in=list(agents), status=Status.PENDING)
                      .order_by().values_list("agent_id", flat=True).distinct())
        messages = AgentMessage.objects.bulk_create([
            AgentMessage(agent_id=agent.pk, board_id=board_id, kind=kind, text=text, created_at=now,
                         next_attempt_at=now) for agent, kind, text in wanted])
        for pk, agent in agents.items():
            if pk not in waiting:
                tasks.enqueue_messages(agent, run_after=now + timedelta(seconds=COALESCE_SECONDS))
    return messages


def batch_text(messages: list[AgentMessage]) -> str:
    if len(messages) == 1:
        return messages[0].text
    parts = [f"Mission Control: {len(messages)} updates for you, oldest first."]
    parts += [f"--- {number} of {len(messages)} ---\n{message.text}" for number, message in enumerate(messages, 1)]
    return "\n\n".join(parts)


def batch_key(message_ids: list[int]) -> str:
    digest = hashlib.sha256(",".join(str(pk) for pk in message_ids).encode()).hexdigest()[:32]
    return f"mc-msg-{digest}"


@dataclass
class Claim:
    messages: list[AgentMessage]
    key: str
    retry: bool  # the batch went out before (or may have): look in the session first


def claim(agent: Agent, now: datetime) -> Claim | datetime | None:
    """The batch this job sends now; or when to look again (the oldest batch waits, or
    another job holds it); or None when nothing is pending."""
    pending = list(AgentMessage.objects.filter(agent_id=agent.pk, status=Status.PENDING).order_by("id")
                   [:BATCH_LIMIT])
    if not pending:
        return None
    oldest = pending[0]
    if oldest.claimed_until is not None and oldest.claimed_until > now:
        return oldest.claimed_until
    if oldest.next_attempt_at > now:
        return oldest.next_attempt_at
    if oldest.batch_key:
        batch, key, retry = [m for m in pending if m.batch_key == oldest.batch_key], oldest.batch_key, True
    else:
        batch = []
        for message in pending:
            if message.batch_key:
                break
            batch.append(message)
        key, retry = batch_key([m.pk for m in batch]), False
    until = now + timedelta(seconds=CLAIM_SECONDS)
    # The first message stands for its batch: whoever moves its claim owns the batch.
    won = (AgentMessage.objects.filter(pk=oldest.pk, status=Status.PENDING, batch_key=oldest.batch_key)
           .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
           .update(batch_key=key, claimed_until=until))
    if not won:
        return now + timedelta(seconds=CLAIM_SECONDS)
    AgentMessage.objects.filter(pk__in=[m.pk for m in batch[1:]], status=Status.PENDING).update(
        batch_key=key, claimed_until=until)
    return Claim(messages=batch, key=key, retry=retry)


def run(agent_id: str) -> str:
    """The delivery job of one agent: every batch that is due, in order."""
    from agents.gateway import tasks

    agent = Agent.objects.select_related("gateway").filter(pk=agent_id).first()
    if agent is None:
        return "gone"
    sent = 0
    while True:
        now = timezone.now()
        taken = claim(agent, now)
        if taken is None:
            with transaction.atomic():
                _hold([agent.pk], shared=False)
                if AgentMessage.objects.filter(agent_id=agent.pk, status=Status.PENDING).exists():
                    continue
            return f"sent {sent}" if sent else "nothing_to_send"
        if isinstance(taken, datetime):
            tasks.enqueue_messages(agent, run_after=taken)
            return f"sent {sent}, waiting" if sent else "waiting"
        outcome = deliver(agent, taken, now)
        if outcome is not None:
            return f"sent {sent}, {outcome}" if sent else outcome
        sent += len(taken.messages)


def deliver(agent: Agent, taken: Claim, now: datetime) -> str | None:
    """Sends one claimed batch; None when it went out, else what stopped it."""
    from agents.gateway import naming
    from agents.gateway.connect import connection
    from agents.gateway.errors import GatewayError

    if agent.gateway is None:
        _give_up(agent, taken, "The agent is no longer on a gateway; read the message in the console.", now)
        return "dead: not on a gateway"
    if not agent.provisioned_at:
        # Not an attempt: the batch waits, with no job, until provisioning succeeds (``kick``).
        AgentMessage.objects.filter(pk__in=_ids(taken)).update(
            claimed_until=None, last_error=f"Waiting for {agent.name} to be set up on its gateway.")
        return "waiting_for_provisioning"
    session = naming.session_key(naming.gateway_agent_id(agent))
    try:
        client = connection(agent.gateway)
        if not (taken.retry and _in_session(client, session, taken.key)):
            client.call("chat.send", {"sessionKey": session, "message": batch_text(taken.messages),
                                      "idempotencyKey": taken.key}, timeout=SEND_TIMEOUT)
    except GatewayError as exc:
        _failed(agent, taken, exc.sentence, retry_after=exc.retry_after, now=now)
        return f"failed: {exc.code}"
    _mark_sent(taken, now)
    return None


def _mark_sent(taken: Claim, now: datetime) -> None:
    AgentMessage.objects.filter(pk__in=_ids(taken)).update(
        status=Status.SENT, sent_at=now, attempts=F("attempts") + 1, last_error="", claimed_until=None)


def _in_session(client: Any, session: str, key: str) -> bool:
    """Whether the session already holds the message sent under ``key``. 2026.9 keeps the key
    on the user message, and a message that arrived during a running turn waits in
    ``pendingInputs`` under its run id (our key); older releases keep neither, and their own
    dedupe answers a repeated key instead."""
    from agents.gateway.errors import GatewayError

    try:
        history = client.call("chat.history", {"sessionKey": session, "limit": HISTORY_LIMIT})
    except GatewayError:
        return False
    if not isinstance(history, dict):
        return False
    messages = history.get("messages") or []
    if any(isinstance(item, dict) and str(item.get("idempotencyKey") or "").startswith(key) for item in messages):
        return True
    pending = history.get("pendingInputs")
    items = pending.get("items") if isinstance(pending, dict) else None
    return any(isinstance(item, dict) and item.get("runId") == key for item in items or [])


def _ids(taken: Claim) -> list[int]:
    return [message.pk for message in taken.messages]


def _failed(agent: Agent, taken: Claim, error: str, *, retry_after: float | None, now: datetime) -> None:
    from agents.gateway import lifecycle, tasks

    attempts = taken.messages[0].attempts + 1
    if attempts >= MAX_ATTEMPTS:
        _give_up(agent, taken, error, now, attempts=attempts)
        return
    later = now + timedelta(seconds=max(retry_after or 0.0, lifecycle.retry_delay(attempts)))
    with transaction.atomic():
        AgentMessage.objects.filter(pk__in=_ids(taken)).update(
            attempts=attempts, last_error=error[:2000], next_attempt_at=later, claimed_until=None)
        tasks.enqueue_messages(agent, run_after=later)
    logger.warning("Message to agent %s not sent (attempt %s): %s", agent.pk, attempts, error,
                   extra={"agent_id": str(agent.pk), "attempt": attempts, "batch_key": taken.key})


def _give_up(agent: Agent, taken: Claim, error: str, now: datetime, *, attempts: int | None = None) -> None:
    from agents.gateway import tasks

    with transaction.atomic():
        AgentMessage.objects.filter(pk__in=_ids(taken)).update(
            status=Status.DEAD, attempts=attempts if attempts is not None else F("attempts"),
            last_error=error[:2000], claimed_until=None)
        activity.record("agent.message_dead", actor=None, board=agent.board_id, agent=agent,
                        organization=agent.organization_id,
                        message=f"Gave up sending {len(taken.messages)} message(s) to {agent.name}: {error}",
                        data={"message_ids": _ids(taken), "batch_key": taken.key, "error": error[:500]})
        # The next batch need not wait for a dead one.
        tasks.enqueue_messages(agent, run_after=now)


def kick(agent: Agent) -> None:
    """Queues the agent's delivery job when messages wait for it (its provisioning just
    finished); call inside the transaction that records that."""
    from agents.gateway import tasks

    if AgentMessage.objects.filter(agent_id=agent.pk, status=Status.PENDING).exists():
        tasks.enqueue_messages(agent)


def resend(message: AgentMessage) -> int:
    """A person sends a dead message (with the rest of its batch) again, as a new batch."""
    from agents.gateway import tasks

    with transaction.atomic():
        _hold([message.agent_id], shared=True)
        now = timezone.now()
        changed = AgentMessage.objects.filter(agent_id=message.agent_id, status=Status.DEAD,
                                              batch_key=message.batch_key).update(
            status=Status.PENDING, batch_key="", attempts=0, next_attempt_at=now, last_error="", claimed_until=None)
        if changed:
            tasks.enqueue_messages(message.agent, run_after=now)
    return changed
