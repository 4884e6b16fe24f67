"""The background jobs that talk to gateways, run by ``manage.py db_worker``.

Each job row is written in the transaction of the change that needs it (the database is
the queue), so a change and its job commit or roll back together. Jobs are idempotent
and name the lifecycle generation they were started for: re-running one, or running an
older one after a newer change, does no harm. Their dotted paths are part of the queue's
rows; keep them stable.
"""

from __future__ import annotations

from datetime import datetime

from django.tasks import task

from agents.models import Agent, Gateway, GatewayCleanup


@task()
def provision_agent(agent_id: str, generation: int, mode: str) -> str:
    """Create or update the agent on its gateway, write its workspace and wake it."""
    from agents.gateway import provisioning

    return provisioning.run(agent_id, generation, mode)


@task()
def reconcile_agent(agent_id: str, generation: int) -> str:
    """The deadline of the agent's current state has come: move it on."""
    from agents.gateway import lifecycle

    agent = Agent.objects.filter(pk=agent_id).first()
    return "gone" if agent is None else lifecycle.reconcile(agent, generation)


@task()
def check_gateway(gateway_id: str, attempt: int = 1) -> str:
    """The staged check of a gateway; its report is stored on the gateway."""
    from agents.gateway import checks

    return checks.run(gateway_id, attempt)


@task()
def sync_gateway(gateway_id: str) -> str:
    """Bring every agent of a gateway to what Mission Control wants: config and files."""
    from agents.gateway import sync

    return sync.run(gateway_id)


@task()
def remove_gateway_agent(cleanup_id: str) -> str:
    """Remove a deleted agent from its gateway (its files and its main session)."""
    from agents.gateway import cleanup

    return cleanup.run(cleanup_id)


@task()
def deliver_messages(agent_id: str) -> str:
    """Push the agent's waiting messages (the outbox) through its gateway, in order."""
    from agents.gateway import outbox

    return outbox.run(agent_id)


@task()
def refresh_agent_snapshot(agent_id: str) -> str:
    """Read the agent's sessions and recent chat from its gateway, for the console."""
    from agents.gateway import snapshot

    return snapshot.run(agent_id)


def enqueue_provision(agent: Agent, generation: int, mode: str, *, run_after: datetime | None = None) -> str:
    job = provision_agent.using(run_after=run_after) if run_after is not None else provision_agent
    return job.enqueue(str(agent.pk), generation, mode).id


def enqueue_reconcile(agent: Agent, generation: int, at: datetime) -> str:
    return reconcile_agent.using(run_after=at).enqueue(str(agent.pk), generation).id


def enqueue_check(gateway: Gateway, *, attempt: int = 1, run_after: datetime | None = None) -> str:
    job = check_gateway.using(run_after=run_after) if run_after is not None else check_gateway
    return job.enqueue(str(gateway.pk), attempt).id


def enqueue_sync(gateway: Gateway) -> str:
    return sync_gateway.enqueue(str(gateway.pk)).id


def enqueue_cleanup(cleanup: GatewayCleanup, *, run_after: datetime | None = None) -> str:
    job = remove_gateway_agent.using(run_after=run_after) if run_after is not None else remove_gateway_agent
    return job.enqueue(str(cleanup.pk)).id


def enqueue_messages(agent: Agent, *, run_after: datetime | None = None) -> str:
    job = deliver_messages.using(run_after=run_after) if run_after is not None else deliver_messages
    return job.enqueue(str(agent.pk)).id


def enqueue_snapshot(agent: Agent) -> str:
    return refresh_agent_snapshot.enqueue(str(agent.pk)).id
