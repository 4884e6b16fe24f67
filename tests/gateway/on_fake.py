"""An agent set up and woken on the fake gateway, as the provisioning job leaves it."""

from __future__ import annotations

from django_tasks_db.models import DBTaskResult

from agents import tokens
from agents.gateway import provisioning
from agents.models import Agent, Gateway
from agents.rules import roster
from tests.gateway.fake_gateway import FakeGateway


def point_at(gateway: Gateway, fake: FakeGateway) -> Gateway:
    gateway.url, gateway.token = fake.url, fake.token
    gateway.save()
    return gateway


def set_up(agent: Agent, gateway: Gateway, fake: FakeGateway) -> str:
    """Provisions and wakes ``agent`` on ``fake`` (by the job, run here) and answers its token;
    the jobs that queued (this one, the check-in watch) are dropped, so a test's own worker
    runs only what the test does."""
    point_at(gateway, fake)
    token = tokens.mint_token(agent)
    roster.provision_on_gateway(agent, token=token, mode="provision")
    agent.refresh_from_db()
    assert provisioning.run(str(agent.pk), agent.lifecycle_generation, "provision") == "woken"
    agent.refresh_from_db()
    DBTaskResult.objects.all().delete()
    return token
