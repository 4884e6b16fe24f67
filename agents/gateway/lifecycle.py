"""The lifecycle of an agent on a gateway: explicit states, each transient one with a deadline.

    provisioning / updating --(job done, woken)--> waiting --(first call)--> active
            |                                         |
            +--(gateway error)--> error (next retry)  +--(no call 30 s after the wake)--> re-woken,
                                                          at most 3 times, then offline (with the reason)

Any call from the agent ends a transient state (``agents.presence``). A job carries the
``lifecycle_generation`` it was started for: a newer change makes it stand down, so two
runs never fight over one agent. Every function takes ``now`` so tests move the clock.
Transitions are conditional UPDATEs on (id, generation).
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from agents import activity
from agents.models import Agent

logger = logging.getLogger("agents.gateway")

# A provisioning run that has not finished by then is taken as lost (a worker died).
PROVISION_DEADLINE = timedelta(minutes=5)
CHECKIN_DEADLINE = timedelta(seconds=30)
MAX_WAKES = 3
MAX_PROVISION_ATTEMPTS = 6
RETRY_BASE_SECONDS = 15.0
RETRY_MAX_SECONDS = 15 * 60.0

Lifecycle = Agent.Lifecycle


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def retry_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds before provisioning attempt ``attempt + 1``: doubling, jittered, capped."""
    ceiling = min(RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0), RETRY_MAX_SECONDS)
    return ceiling * (rng or random).uniform(0.5, 1.0)


def _set(agent: Agent, generation: int | None, **changes: Any) -> bool:
    """Conditional update of the agent's lifecycle; False when a newer run owns it."""
    rows = Agent.objects.filter(pk=agent.pk)
    if generation is not None:
        rows = rows.filter(lifecycle_generation=generation)
    updated = rows.update(**changes)
    if updated:
        for name, value in changes.items():
            if not hasattr(value, "resolve_expression"):
                setattr(agent, name, value)
    return bool(updated)


def request_provisioning(agent: Agent, *, mode: str = "provision", now: datetime | None = None) -> int:
    """Starts a provisioning run of ``agent`` (call inside the transaction of the change
    that needs it: the job commits with it). Returns the run's generation."""
    from agents.gateway import tasks

    now = _now(now)
    state = Lifecycle.PROVISIONING if agent.provisioned_at is None else Lifecycle.UPDATING
    with transaction.atomic():
        Agent.objects.filter(pk=agent.pk).update(lifecycle_generation=F("lifecycle_generation") + 1)
        agent.refresh_from_db(fields=["lifecycle_generation"])
        generation = agent.lifecycle_generation
        deadline = now + PROVISION_DEADLINE
        _set(agent, generation, lifecycle_status=state, lifecycle_changed_at=now, lifecycle_deadline=deadline,
             provision_attempts=0, next_retry_at=None, last_error="", last_error_at=None,
             **({"wake_attempts": 0} if mode != "rewake" else {}))
        tasks.enqueue_provision(agent, generation, mode)
        tasks.enqueue_reconcile(agent, generation, deadline)
    return generation


def provisioning_started(agent: Agent, generation: int, now: datetime | None = None) -> bool:
    """The job begins an attempt: its deadline starts now."""
    now = _now(now)
    return _set(agent, generation, lifecycle_deadline=now + PROVISION_DEADLINE,
                provision_attempts=F("provision_attempts") + 1)


def provisioning_succeeded(agent: Agent, generation: int, report: dict[str, Any], *, woke: bool,
                           now: datetime | None = None) -> bool:
    """The gateway holds the agent as we want it. Woken, it has 30 s to call us."""
    from agents.gateway import outbox, tasks

    now = _now(now)
    changes: dict[str, Any] = {"provision_report": report, "provisioned_at": now, "last_error": "",
                               "last_error_at": None, "next_retry_at": None, "pending_token": "",
                               "lifecycle_changed_at": now}
    if report.get("gateway_agent_id"):
        changes["gateway_agent_id"] = report["gateway_agent_id"]
    if woke:
        deadline = now + CHECKIN_DEADLINE
        changes.update(lifecycle_status=Lifecycle.WAITING, lifecycle_deadline=deadline, last_wake_at=now,
                       wake_attempts=F("wake_attempts") + 1)
    else:
        changes.update(lifecycle_status=Lifecycle.ACTIVE, lifecycle_deadline=None)
    with transaction.atomic():
        if not _set(agent, generation, **changes):
            return False
        agent.refresh_from_db(fields=["wake_attempts"])
        activity.record("agent.provisioned", actor=None, agent=agent, board=agent.board_id,
                        organization=agent.organization_id,
                        message=f"{agent.name} is set up on its gateway" + (" and was woken." if woke else "."),
                        data={"gateway_agent_id": report.get("gateway_agent_id"),
                              "config_patched": bool(report.get("config_patched")),
                              "files_written": report.get("files_written", []),
                              "files_skipped": report.get("files_skipped", {})})
        if woke:
            tasks.enqueue_reconcile(agent, generation, changes["lifecycle_deadline"])
        outbox.kick(agent)
    return True


def provisioning_failed(agent: Agent, generation: int, sentence: str, *, retryable: bool,
                        retry_after: float | None = None, now: datetime | None = None) -> bool:
    """The gateway refused or could not be reached: the error, its time and the next retry
    show on the agent; the job runs again then, until the attempts are used up."""
    from agents.gateway import tasks

    now = _now(now)
    agent.refresh_from_db(fields=["provision_attempts", "lifecycle_generation"])
    if agent.lifecycle_generation != generation:
        return False
    attempt = agent.provision_attempts
    next_retry = None
    if retryable and attempt < MAX_PROVISION_ATTEMPTS:
        next_retry = now + timedelta(seconds=max(retry_after or 0.0, retry_delay(attempt)))
    with transaction.atomic():
        if not _set(agent, generation, lifecycle_status=Lifecycle.ERROR, lifecycle_changed_at=now,
                    lifecycle_deadline=None, last_error=sentence[:2000], last_error_at=now, next_retry_at=next_retry):
            return False
        when = f" Next try at {next_retry:%H:%M:%S} UTC." if next_retry else " Retry it from the agent's page."
        activity.record("agent.provision_failed", actor=None, agent=agent, board=agent.board_id,
                        organization=agent.organization_id, message=f"Setting up {agent.name} failed: {sentence}{when}",
                        data={"error": sentence, "attempt": attempt,
                              "next_retry_at": next_retry.isoformat() if next_retry else None})
        if next_retry is not None:
            tasks.enqueue_provision(agent, generation, "retry", run_after=next_retry)
    return True


def checked_in(agent: Agent, now: datetime | None = None) -> bool:
    """The agent called: a transient state is over (the caller has already written last_seen_at)."""
    if agent.lifecycle_status not in Agent.TRANSIENT:
        return False
    now = _now(now)
    updated = (Agent.objects.filter(pk=agent.pk, lifecycle_status__in=Agent.TRANSIENT)
               .update(lifecycle_status=Lifecycle.ACTIVE, lifecycle_changed_at=now, lifecycle_deadline=None,
                       wake_attempts=0, last_error=""))
    if updated:
        agent.lifecycle_status, agent.lifecycle_changed_at, agent.lifecycle_deadline = Lifecycle.ACTIVE, now, None
        agent.wake_attempts, agent.last_error = 0, ""
    return bool(updated)


def reconcile(agent: Agent, generation: int, now: datetime | None = None) -> str:
    """What a passed deadline means for ``agent``; returns what was done (for the job's record)."""
    now = _now(now)
    agent.refresh_from_db()
    if agent.lifecycle_generation != generation:
        return "superseded"
    if agent.lifecycle_deadline is None or agent.lifecycle_deadline > now:
        return "not_due"
    if agent.lifecycle_status in (Lifecycle.PROVISIONING, Lifecycle.UPDATING):
        provisioning_failed(agent, generation, "Provisioning did not finish in time: the worker may have stopped "
                            "while it ran. It starts again.", retryable=True, now=now)
        return "provisioning_timed_out"
    if agent.lifecycle_status != Lifecycle.WAITING:
        return "nothing_to_do"
    if agent.last_seen_at is not None and agent.last_wake_at is not None and agent.last_seen_at >= agent.last_wake_at:
        checked_in(agent, now)
        return "checked_in"
    if agent.wake_attempts < MAX_WAKES:
        _rewake(agent, now)
        return "rewoken"
    reason = (f"Did not check in after {agent.wake_attempts} wake-ups (the last at {agent.last_wake_at:%H:%M:%S} UTC). "
              "Look at the agent's session on the gateway (its model and exec tool), then retry provisioning.")
    with transaction.atomic():
        if _set(agent, generation, lifecycle_status=Lifecycle.OFFLINE, lifecycle_changed_at=now,
                lifecycle_deadline=None, last_error=reason, last_error_at=now):
            activity.record("agent.offline", actor=None, agent=agent, board=agent.board_id,
                            organization=agent.organization_id, message=f"{agent.name} is offline: {reason}",
                            data={"wake_attempts": agent.wake_attempts})
    return "offline"


def _rewake(agent: Agent, now: datetime) -> None:
    """Another wake-up, with a fresh token (the previous one stays valid meanwhile)."""
    from agents import tokens

    with transaction.atomic():
        token = tokens.mint_token(agent, grace=tokens.ROTATION_GRACE)
        Agent.objects.filter(pk=agent.pk).update(pending_token=tokens.seal(token))
        agent.pending_token = tokens.seal(token)
        request_provisioning(agent, mode="rewake", now=now)
