"""Removing a deleted agent from its gateway: ``agents.delete`` with its files, then its
main session. "Not found" counts as done; a failure is retried with backoff, never lost."""

from __future__ import annotations

import re
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from agents.gateway import lifecycle, provisioning
from agents.models import Agent, Gateway, GatewayCleanup

MAX_ATTEMPTS = 10
# 2026.9 refuses to delete a main session, and answers that an agent's store "is closing"
# right after the agent was deleted: either way the session went with its agent.
_GONE_WITH_THE_AGENT = re.compile(r"cannot delete the main session|agent database resources are closing", re.I)


def schedule(agent: Agent) -> GatewayCleanup | None:
    """Records the gateway side of ``agent``'s deletion and queues it (call in the delete's
    transaction, before the row goes). Nothing to do for an agent no gateway holds."""
    from agents.gateway import naming, tasks

    if agent.gateway_id is None or (agent.lifecycle_generation == 0 and not agent.gateway_agent_id):
        return None
    gateway_agent_id = naming.gateway_agent_id(agent)
    cleanup = GatewayCleanup.objects.create(
        gateway_id=agent.gateway_id, gateway_agent_id=gateway_agent_id, session_key=naming.session_key(gateway_agent_id),
        agent_name=agent.name, agent_id=agent.pk)
    tasks.enqueue_cleanup(cleanup)
    return cleanup


def run(cleanup_id: str) -> str:
    from agents.gateway import tasks
    from agents.gateway.connect import connection
    from agents.gateway.errors import GatewayError

    cleanup = GatewayCleanup.objects.select_related("gateway").filter(pk=cleanup_id).first()
    if cleanup is None or cleanup.status == GatewayCleanup.Status.DONE:
        return "nothing_to_do"
    gateway: Gateway = cleanup.gateway
    now = timezone.now()
    try:
        client = connection(gateway)
        _ignoring_not_found(lambda: client.call("agents.delete", {"agentId": cleanup.gateway_agent_id,
                                                                  "deleteFiles": True},
                                                timeout=provisioning.CONFIG_WRITE_TIMEOUT))
        _ignoring_not_found(lambda: client.call("sessions.delete", {"key": cleanup.session_key}))
    except GatewayError as exc:
        attempts = cleanup.attempts + 1
        retry = attempts < MAX_ATTEMPTS
        with transaction.atomic():
            GatewayCleanup.objects.filter(pk=cleanup.pk).update(
                status=GatewayCleanup.Status.FAILED, attempts=attempts, last_error=exc.sentence,
                next_attempt_at=now + timedelta(seconds=lifecycle.retry_delay(attempts)) if retry else None)
            if retry:
                cleanup.refresh_from_db()
                assert cleanup.next_attempt_at is not None
                tasks.enqueue_cleanup(cleanup, run_after=cleanup.next_attempt_at)
        return "retrying" if retry else "gave_up"
    GatewayCleanup.objects.filter(pk=cleanup.pk).update(status=GatewayCleanup.Status.DONE, done_at=now,
                                                        attempts=cleanup.attempts + 1, last_error="",
                                                        next_attempt_at=None)
    return "done"


def _ignoring_not_found(call: object) -> None:
    from agents.gateway.errors import RequestError

    assert callable(call)
    try:
        call()
    except RequestError as exc:
        if not exc.is_not_found and not _GONE_WITH_THE_AGENT.search(exc.message):
            raise
