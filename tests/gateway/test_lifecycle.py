"""An agent's lifecycle on its gateway: every state ends, by a call from the agent or at its
deadline. The clock is moved by the tests (``now=``), never slept on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from agents import tokens
from agents.gateway import lifecycle, provisioning
from agents.models import ActivityEvent, Agent
from tests.agents.agent_client import agent_client
from tests.conftest import make_agent

pytestmark = pytest.mark.django_db

Lifecycle = Agent.Lifecycle
PROVISION = "agents.gateway.tasks.provision_agent"
RECONCILE = "agents.gateway.tasks.reconcile_agent"


def queued(path: str, agent: Agent) -> list[DBTaskResult]:
    return [job for job in DBTaskResult.objects.filter(task_path=path, status=TaskResultStatus.READY)
            if job.args_kwargs["args"][0] == str(agent.pk)]


@pytest.fixture
def agent(board):
    return make_agent("Scout", board=board)


def woken(agent: Agent, now) -> int:
    generation = lifecycle.request_provisioning(agent, now=now)
    assert lifecycle.provisioning_succeeded(agent, generation, {"gateway_agent_id": f"mc-{agent.pk}"},
                                            woke=True, now=now)
    agent.refresh_from_db()
    return generation


def test_asking_for_provisioning_queues_the_job_and_a_deadline(agent):
    now = timezone.now()
    generation = lifecycle.request_provisioning(agent, now=now)
    agent.refresh_from_db()
    assert agent.lifecycle_status == Lifecycle.PROVISIONING and agent.lifecycle_generation == generation == 1
    assert agent.lifecycle_deadline == now + lifecycle.PROVISION_DEADLINE
    [job] = queued(PROVISION, agent)
    assert job.args_kwargs["args"] == [str(agent.pk), 1, "provision"]
    [check] = queued(RECONCILE, agent)
    assert check.run_after == agent.lifecycle_deadline
    assert agent.status == "provisioning"


def test_an_agent_already_provisioned_is_updating_while_it_is_provisioned_again(agent):
    agent.provisioned_at = timezone.now()
    agent.save()
    lifecycle.request_provisioning(agent)
    agent.refresh_from_db()
    assert agent.lifecycle_status == Lifecycle.UPDATING and agent.status == "updating"


def test_a_woken_agent_waits_30_seconds_for_its_first_call(agent):
    now = timezone.now()
    generation = woken(agent, now)
    assert agent.lifecycle_status == Lifecycle.WAITING and agent.wake_attempts == 1
    assert agent.lifecycle_deadline == now + lifecycle.CHECKIN_DEADLINE and agent.provisioned_at == now
    assert agent.gateway_agent_id == f"mc-{agent.pk}"
    assert any(job.run_after == agent.lifecycle_deadline and job.args_kwargs["args"][1] == generation
               for job in queued(RECONCILE, agent))
    assert ActivityEvent.objects.filter(event_type="agent.provisioned", agent_id=agent.pk).exists()


def test_any_call_from_the_agent_ends_the_wait(agent):
    woken(agent, timezone.now())
    token = tokens.mint_token(agent)
    assert agent_client(token).get("/api/v1/agent/boards").status_code == 200
    agent.refresh_from_db()
    assert agent.lifecycle_status == Lifecycle.ACTIVE and agent.lifecycle_deadline is None
    assert agent.wake_attempts == 0 and agent.status == "online"
    assert ActivityEvent.objects.filter(event_type="agent.lifecycle_cleared", agent_id=agent.pk).exists()


def test_before_its_deadline_the_reconcile_does_nothing(agent):
    now = timezone.now()
    generation = woken(agent, now)
    assert lifecycle.reconcile(agent, generation, now=now + timedelta(seconds=10)) == "not_due"


def test_silence_after_a_wake_means_another_wake_with_a_fresh_token(agent):
    now = timezone.now()
    old_token = tokens.mint_token(agent)
    generation = woken(agent, now)
    later = now + lifecycle.CHECKIN_DEADLINE + timedelta(seconds=1)
    assert lifecycle.reconcile(agent, generation, now=later) == "rewoken"
    agent.refresh_from_db()
    assert agent.lifecycle_generation == generation + 1 and agent.lifecycle_status == Lifecycle.UPDATING
    new_token = tokens.unseal(agent.pending_token)
    assert new_token is not None and new_token != old_token
    assert tokens.matches(agent, new_token) == "current" and tokens.matches(agent, old_token) == "previous"
    assert [job.args_kwargs["args"][2] for job in queued(PROVISION, agent)][-1] == "rewake"
    assert agent.wake_attempts == 1  # counted when the wake is sent


def test_after_three_silent_wakes_the_agent_is_offline_with_the_reason(agent):
    now = timezone.now()
    generation = woken(agent, now)
    for _ in range(lifecycle.MAX_WAKES - 1):
        now += lifecycle.CHECKIN_DEADLINE + timedelta(seconds=1)
        assert lifecycle.reconcile(agent, generation, now=now) == "rewoken"
        agent.refresh_from_db()
        generation = agent.lifecycle_generation
        assert lifecycle.provisioning_succeeded(agent, generation, {}, woke=True, now=now)
        agent.refresh_from_db()
    assert agent.wake_attempts == lifecycle.MAX_WAKES
    now += lifecycle.CHECKIN_DEADLINE + timedelta(seconds=1)
    assert lifecycle.reconcile(agent, generation, now=now) == "offline"
    agent.refresh_from_db()
    assert agent.lifecycle_status == Lifecycle.OFFLINE and agent.status == "offline"
    assert "Did not check in after 3 wake-ups" in agent.last_error and agent.lifecycle_deadline is None
    assert ActivityEvent.objects.filter(event_type="agent.offline", agent_id=agent.pk).exists()
    # Even then, the agent's call brings it back.
    assert agent_client(tokens.mint_token(agent)).post("/api/v1/agent/heartbeat").json()["status"] == "online"


def test_a_provisioning_that_outlives_its_deadline_is_an_error_retried(agent):
    now = timezone.now()
    generation = lifecycle.request_provisioning(agent, now=now)
    later = now + lifecycle.PROVISION_DEADLINE + timedelta(seconds=1)
    assert lifecycle.reconcile(agent, generation, now=later) == "provisioning_timed_out"
    agent.refresh_from_db()
    assert agent.lifecycle_status == Lifecycle.ERROR and "did not finish in time" in agent.last_error
    assert agent.next_retry_at is not None and agent.next_retry_at > later


def test_a_gateway_error_shows_the_error_its_time_and_the_next_retry(agent):
    now = timezone.now()
    generation = lifecycle.request_provisioning(agent, now=now)
    lifecycle.provisioning_started(agent, generation, now=now)
    assert lifecycle.provisioning_failed(agent, generation, "The gateway refused the token.", retryable=True,
                                         retry_after=60, now=now)
    agent.refresh_from_db()
    assert agent.lifecycle_status == Lifecycle.ERROR and agent.status == "error"
    assert agent.last_error == "The gateway refused the token." and agent.last_error_at == now
    assert agent.next_retry_at >= now + timedelta(seconds=60)
    retry = [job for job in queued(PROVISION, agent) if job.args_kwargs["args"][2] == "retry"]
    assert len(retry) == 1 and retry[0].run_after == agent.next_retry_at


def test_after_the_last_attempt_the_error_waits_for_a_person(agent):
    now = timezone.now()
    generation = lifecycle.request_provisioning(agent, now=now)
    Agent.objects.filter(pk=agent.pk).update(provision_attempts=lifecycle.MAX_PROVISION_ATTEMPTS)
    lifecycle.provisioning_failed(agent, generation, "Still refused.", retryable=True, now=now)
    agent.refresh_from_db()
    assert agent.lifecycle_status == Lifecycle.ERROR and agent.next_retry_at is None
    assert not [job for job in queued(PROVISION, agent) if job.args_kwargs["args"][2] == "retry"]


def test_an_error_that_retrying_cannot_fix_is_not_retried(agent):
    generation = lifecycle.request_provisioning(agent)
    lifecycle.provisioning_failed(agent, generation, "Pairing required.", retryable=False)
    agent.refresh_from_db()
    assert agent.next_retry_at is None


def test_a_job_for_an_older_generation_stands_down(agent):
    first = lifecycle.request_provisioning(agent)
    second = lifecycle.request_provisioning(agent)
    assert second == first + 1
    assert provisioning.run(str(agent.pk), first, "provision") == "superseded"
    assert not lifecycle.provisioning_succeeded(agent, first, {}, woke=True)
    assert lifecycle.reconcile(agent, first) == "superseded"


def test_an_agent_without_a_gateway_is_never_waiting_for_one(org, board):
    board.gateway = None
    board.save()
    agent = make_agent("Manual", board=board, gateway=None)
    generation = lifecycle.request_provisioning(agent)
    assert provisioning.run(str(agent.pk), generation, "provision") == "no_gateway"
    agent.refresh_from_db()
    assert agent.lifecycle_status == Lifecycle.ACTIVE
