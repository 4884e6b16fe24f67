"""Token rotation that never locks an agent out: the previous token keeps working until the
agent uses the new one (or the grace ends), and a token waits sealed for its workspace."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents import tokens
from agents.models import Agent
from tests.agents.agent_client import agent_client
from tests.conftest import make_agent

pytestmark = pytest.mark.django_db

HEALTHZ = "/api/v1/agent/healthz"


def status_of(token: str) -> int:
    return agent_client(token).get(HEALTHZ).status_code


def test_with_grace_both_tokens_work_until_the_new_one_is_used(worker):
    old = tokens.mint_token(worker)
    new = tokens.mint_token(worker, grace=timedelta(minutes=10))
    assert status_of(old) == 200
    assert status_of(new) == 200
    worker.refresh_from_db()
    assert worker.previous_token_key is None and worker.token_confirmed_at is not None
    assert status_of(old) == 401


def test_the_previous_token_stops_when_the_grace_ends(worker):
    old = tokens.mint_token(worker)
    tokens.mint_token(worker, grace=timedelta(minutes=10))
    Agent.objects.filter(pk=worker.pk).update(previous_token_expires_at=timezone.now() - timedelta(seconds=1))
    assert status_of(old) == 401


def test_without_grace_the_old_token_stops_at_once(worker):
    old = tokens.mint_token(worker)
    new = tokens.mint_token(worker)
    assert status_of(old) == 401 and status_of(new) == 200


def test_matches_tells_current_previous_and_wrong_apart_without_changing_anything(worker):
    old = tokens.mint_token(worker)
    new = tokens.mint_token(worker, grace=timedelta(minutes=10))
    assert tokens.matches(worker, new) == "current"
    assert tokens.matches(worker, old) == "previous"
    assert tokens.matches(worker, old[:-2] + "zz") is None
    assert tokens.matches(worker, "garbage") is None
    worker.refresh_from_db()
    assert worker.previous_token_key is not None  # nothing was confirmed


def test_a_sealed_token_opens_only_with_the_same_secret_key(settings):
    sealed = tokens.seal("mc_0011223344556677_secret")
    assert sealed != "mc_0011223344556677_secret" and "secret" not in sealed
    assert tokens.unseal(sealed) == "mc_0011223344556677_secret"
    settings.SECRET_KEY = "another-secret-key-" * 4
    assert tokens.unseal(sealed) is None
    assert tokens.unseal("not even base64 !!") is None


def test_rotating_a_provisioned_agent_through_the_api_keeps_the_old_token_for_the_grace(client_for, owner, board):
    agent = make_agent("Deployed", board=board, provisioned_at=timezone.now())
    old = tokens.mint_token(agent)
    answer = client_for(owner).post(f"/api/v1/agents/{agent.pk}/token")
    assert answer.status_code == 200
    body = answer.json()
    assert body["previous_token_valid_until"] is not None
    assert status_of(old) == 200 and status_of(body["token"]) == 200
    agent.refresh_from_db()
    assert agent.pending_token and tokens.unseal(agent.pending_token) == body["token"]


def test_a_leaked_token_is_ended_at_once_on_request(client_for, owner, board):
    agent = make_agent("Deployed", board=board, provisioned_at=timezone.now())
    old = tokens.mint_token(agent)
    body = client_for(owner).post(f"/api/v1/agents/{agent.pk}/token", {"revoke_previous": True},
                                  format="json").json()
    assert body["previous_token_valid_until"] is None
    assert status_of(old) == 401 and status_of(body["token"]) == 200


def test_an_agent_never_provisioned_loses_its_old_token_at_once(client_for, owner, worker):
    old = tokens.mint_token(worker)
    body = client_for(owner).post(f"/api/v1/agents/{worker.pk}/token").json()
    assert body["previous_token_valid_until"] is None and status_of(old) == 401
