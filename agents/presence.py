"""Agent presence: when an agent was last seen, and what its heartbeat changes.

Agents call every few seconds to minutes; writing ``last_seen_at`` on every call would
turn every read into a write. A call refreshes it only when it is older than
``SEEN_REFRESH``, with a conditional UPDATE so concurrent calls write at most once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agents import activity, live
from agents.gateway import lifecycle
from agents.models import PRESENCE_ONLINE_WINDOW, Agent

SEEN_REFRESH = timedelta(seconds=30)
HEARTBEAT_LOG_INTERVAL = timedelta(minutes=1)


def mark_seen(agent: Agent, now: datetime | None = None) -> bool:
    """Refreshes ``last_seen_at`` unless it is recent, and ends a transient lifecycle state
    (provisioning, waiting for check-in, offline): the call proves the agent runs. True when
    a row was written."""
    now = now or timezone.now()
    if agent.lifecycle_status in Agent.TRANSIENT:
        with transaction.atomic():
            Agent.objects.filter(pk=agent.pk).update(last_seen_at=now)
            agent.last_seen_at = now
            _end_transient_state(agent, now)
        return True
    if agent.last_seen_at is not None and now - agent.last_seen_at < SEEN_REFRESH:
        return False
    before = agent.last_seen_at
    updated = (Agent.objects.filter(pk=agent.pk)
               .filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=now - SEEN_REFRESH))
               .update(last_seen_at=now))
    if updated:
        agent.last_seen_at = now
        _shown_online(agent, before, now)
    return bool(updated)


def _shown_online(agent: Agent, before: datetime | None, now: datetime) -> None:
    """An agent that pages showed offline is online again: they learn of it (``agents.live``).
    Refreshes of an agent already online change nothing a page shows but a relative time."""
    if before is None or now - before > PRESENCE_ONLINE_WINDOW:
        live.bump(live.scopes_of(board_id=agent.board_id, organization_id=agent.organization_id))


def _end_transient_state(agent: Agent, now: datetime) -> None:
    was = agent.lifecycle_status
    if lifecycle.checked_in(agent, now):
        activity.record("agent.lifecycle_cleared", actor=agent, agent=agent, board=agent.board_id,
                        organization=agent.organization_id,
                        message=f"{agent.name} checked in: no longer {Agent.Lifecycle(was).label.lower()}.",
                        data={"was": was})


def _claim_heartbeat_log(agent: Agent, now: datetime) -> bool:
    """True for at most one heartbeat per agent per interval, across all processes."""
    claimed = (Agent.objects.filter(pk=agent.pk)
               .filter(Q(last_heartbeat_logged_at__isnull=True)
                       | Q(last_heartbeat_logged_at__lte=now - HEARTBEAT_LOG_INTERVAL))
               .update(last_heartbeat_logged_at=now))
    if claimed:
        agent.last_heartbeat_logged_at = now
    return bool(claimed)


def heartbeat(agent: Agent, now: datetime | None = None) -> Agent:
    """The agent says it is alive: seen now, a transient lifecycle state ends, and the
    activity log gets an ``agent.heartbeat`` event at most once a minute."""
    now = now or timezone.now()
    with transaction.atomic():
        # Authentication may have written it a moment ago; one write per heartbeat is enough.
        if agent.last_seen_at is None or now - agent.last_seen_at >= timedelta(seconds=1):
            before = agent.last_seen_at
            Agent.objects.filter(pk=agent.pk).update(last_seen_at=now)
            agent.last_seen_at = now
            _shown_online(agent, before, now)
        _end_transient_state(agent, now)
        if _claim_heartbeat_log(agent, now):
            activity.record("agent.heartbeat", actor=agent, agent=agent, board=agent.board_id,
                            organization=agent.organization_id, message=f"{agent.name} checked in.")
    return agent
