from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Agent
from agents.tokens import mint_token
from ops import throttle
from tests.agents.agent_client import HEADER_FORMS, agent_client
from tests.conftest import make_agent, redis_commands_sent, use_redis_limits

pytestmark = pytest.mark.django_db

HEALTHZ = "/api/v1/agent/healthz"
# The limiter's clock is frozen in every test (tests/conftest.py): a burst is counted at one moment.


@pytest.mark.parametrize("form", HEADER_FORMS)
def test_an_agent_authenticates_with_either_header_form(worker, form):
    response = agent_client(mint_token(worker), form).get(HEALTHZ)

    assert response.status_code == 200
    assert response.json()["agent_id"] == str(worker.id)


def test_healthz_describes_the_calling_agent(lead, board):
    body = agent_client(mint_token(lead)).get(HEALTHZ).json()

    assert body == {"ok": True, "agent_id": str(lead.id), "board_id": str(board.id),
                    "gateway_id": str(lead.gateway_id), "status": "online", "is_board_lead": True}


def test_a_request_without_a_token_is_401_in_the_envelope(worker):
    response = agent_client(None).get(HEALTHZ)

    assert response.status_code == 401
    assert set(response.json()) == {"detail", "request_id"}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("form", HEADER_FORMS)
def test_wrong_and_unknown_tokens_get_the_same_401(worker, form):
    token = mint_token(worker)
    wrong = agent_client(token[:-3] + "xyz", form).get(HEALTHZ)
    unknown = agent_client("mc_0123456789abcdef_" + "s" * 43, form).get(HEALTHZ)
    garbage = agent_client("garbage", form).get(HEALTHZ)

    assert wrong.status_code == unknown.status_code == garbage.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == garbage.json()["detail"] == "Invalid agent token."


def test_a_rotated_token_is_refused_and_the_new_one_works(worker):
    old = mint_token(worker)
    new = mint_token(worker)

    assert agent_client(old).get(HEALTHZ).status_code == 401
    assert agent_client(new).get(HEALTHZ).status_code == 200


def test_a_user_bearer_token_is_not_an_agent_token(worker, settings):
    response = agent_client(settings.LOCAL_AUTH_TOKEN, "bearer").get(HEALTHZ)

    assert response.status_code == 401


def test_good_requests_do_not_use_up_the_failed_authentication_limit_of_their_ip(settings, worker):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "agent_auth": (20, 60)}
    client = agent_client(mint_token(worker), ip="203.0.113.7")

    statuses = [client.get(HEALTHZ).status_code for _ in range(25)]

    assert statuses == [200] * 25


def test_the_21st_request_of_one_agent_within_a_minute_is_429_with_retry_after(settings, worker):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "agent_requests": (20, 60)}
    client = agent_client(mint_token(worker), ip="203.0.113.7")

    statuses = [client.get(HEALTHZ).status_code for _ in range(21)]

    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
    refused = client.get(HEALTHZ)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert set(refused.json()) == {"detail", "request_id"}


def test_the_per_agent_limit_is_per_agent_not_per_address(settings, lead, worker):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "agent_requests": (3, 60)}
    busy, quiet = agent_client(mint_token(lead), ip="203.0.113.10"), agent_client(mint_token(worker), ip="203.0.113.10")

    assert [busy.get(HEALTHZ).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert quiet.get(HEALTHZ).status_code == 200
    # An agent over its own limit is not a failed authentication of the address.
    assert throttle.peek("agent_auth", "203.0.113.10").count == 0


def test_the_limit_counts_wrong_tokens_and_is_checked_before_the_token(settings, worker):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "agent_auth": (20, 60)}
    guesser = agent_client("mc_0123456789abcdef_" + "g" * 43, ip="203.0.113.8")

    statuses = [guesser.get(HEALTHZ).status_code for _ in range(20)]
    after = agent_client(mint_token(worker), ip="203.0.113.8").get(HEALTHZ)

    assert statuses == [401] * 20
    assert after.status_code == 429


@pytest.mark.parametrize("token", ["mc_0123456789abcdef_" + "g" * 43, "garbage", ""])
def test_a_wrong_token_flood_is_429_before_any_token_lookup(settings, worker, token, django_assert_num_queries):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "agent_auth": (20, 60)}
    guesser = agent_client(token, ip="203.0.113.11")
    assert {guesser.get(HEALTHZ).status_code for _ in range(20)} == {401}

    with django_assert_num_queries(0):
        flood = [guesser.get(HEALTHZ) for _ in range(30)]

    assert {response.status_code for response in flood} == {429}
    assert all(1 <= int(response["Retry-After"]) <= 60 for response in flood)
    # The refusals are not failures of their own: the count stays where the guesses left it.
    assert throttle.peek("agent_auth", "203.0.113.11").count == 20


def test_the_failed_authentication_limit_is_per_client_ip(settings, worker):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "agent_auth": (2, 60)}
    wrong = "mc_0123456789abcdef_" + "w" * 43
    first = agent_client(wrong, ip="198.51.100.1")

    assert [first.get(HEALTHZ).status_code for _ in range(3)] == [401, 401, 429]
    assert agent_client(mint_token(worker), ip="198.51.100.1").get(HEALTHZ).status_code == 429
    assert agent_client(wrong, ip="198.51.100.2").get(HEALTHZ).status_code == 401
    assert agent_client(mint_token(worker), ip="198.51.100.2").get(HEALTHZ).status_code == 200


def test_twenty_agents_behind_one_gateway_address_with_heartbeat_bursts_see_no_429(settings, board, lead):
    """The default limits, as a host of 20 agents meets them: each agent's heartbeat is a
    burst of 10 calls, and here they all fall into one minute, twice (a real 10-minute
    heartbeat never does better than that)."""
    from missioncontrol import settings as product

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "agent_auth": product.RATE_LIMITS["agent_auth"],
                            "agent_requests": product.RATE_LIMITS["agent_requests"]}
    agents = [lead, *(make_agent(f"Worker {n}", board=board) for n in range(19))]
    clients = [agent_client(mint_token(agent), ip="192.0.2.50") for agent in agents]
    calls = [("post", "/api/v1/agent/heartbeat"), ("get", HEALTHZ), ("get", "/api/v1/agent/boards"),
             ("get", f"/api/v1/agent/boards/{board.id}"), ("get", f"/api/v1/agent/boards/{board.id}/tasks"),
             ("get", f"/api/v1/agent/boards/{board.id}/tasks?status=in_progress,review"),
             ("get", f"/api/v1/agent/boards/{board.id}/memory?limit=20"),
             ("get", f"/api/v1/agent/boards/{board.id}/approvals?status=pending"),
             ("get", f"/api/v1/agent/boards/{board.id}/tags"), ("get", "/api/v1/agent/agents")]

    statuses = [getattr(client, method)(path).status_code
                for _ in range(2) for client in clients for method, path in calls]

    assert len(statuses) == 400
    assert set(statuses) == {200}


def test_the_default_limits_are_20_failures_per_ip_and_120_requests_per_agent_per_minute():
    from missioncontrol import settings as product

    assert product.RATE_LIMITS["agent_auth"] == (20, 60)
    assert product.RATE_LIMITS["agent_requests"] == (120, 60)


def test_requests_without_a_token_do_not_use_up_the_limit(settings, worker):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "agent_auth": (2, 60)}
    client = agent_client(None, ip="198.51.100.3")
    for _ in range(5):
        assert client.get(HEALTHZ).status_code == 401

    assert agent_client(mint_token(worker), ip="198.51.100.3").get(HEALTHZ).status_code == 200


def test_any_authenticated_call_marks_the_agent_seen(worker):
    assert worker.last_seen_at is None

    agent_client(mint_token(worker)).get(HEALTHZ)

    worker.refresh_from_db()
    assert worker.last_seen_at is not None
    assert worker.status == "online"


def test_last_seen_is_written_at_most_every_30_seconds(worker, django_assert_num_queries):
    recent = timezone.now() - timedelta(seconds=5)
    Agent.objects.filter(pk=worker.pk).update(last_seen_at=recent)
    client = agent_client(mint_token(worker))

    # One query: the token lookup. No write for a recently seen agent.
    with django_assert_num_queries(1):
        assert client.get(HEALTHZ).status_code == 200
    worker.refresh_from_db()
    assert worker.last_seen_at == recent

    stale = timezone.now() - timedelta(seconds=31)
    Agent.objects.filter(pk=worker.pk).update(last_seen_at=stale)
    client.get(HEALTHZ)
    worker.refresh_from_db()
    assert worker.last_seen_at > stale


def test_a_silent_agent_shows_offline_after_ten_minutes(worker):
    Agent.objects.filter(pk=worker.pk).update(last_seen_at=timezone.now() - timedelta(minutes=11))
    worker.refresh_from_db()

    assert worker.status == "offline"


def test_both_agent_limits_hold_on_the_shared_redis_backend(settings, worker, redis_url):
    use_redis_limits(settings, redis_url)
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "agent_auth": (5, 60), "agent_requests": (20, 60)}
    client = agent_client(mint_token(worker), ip="203.0.113.9")
    guesser = agent_client("mc_0123456789abcdef_" + "r" * 43, ip="203.0.113.12")

    statuses = [client.get(HEALTHZ).status_code for _ in range(21)]
    guesses = [guesser.get(HEALTHZ).status_code for _ in range(6)]

    assert statuses == [200] * 20 + [429]
    assert guesses == [401] * 5 + [429]


def test_wrong_tokens_naming_an_agent_s_key_do_not_use_up_its_requests(settings, worker, limiter_backend):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "agent_auth": (20, 60), "agent_requests": (3, 60)}
    token = mint_token(worker)
    forged = token[:token.rindex("_") + 1] + "f" * 43  # its public key, a made-up secret

    guesses = [agent_client(forged, ip=f"203.0.113.{20 + n}").get(HEALTHZ).status_code for n in range(5)]
    honest = [agent_client(token, ip="203.0.113.40").get(HEALTHZ).status_code for _ in range(4)]

    assert guesses == [401] * 5
    assert honest == [200, 200, 200, 429]
    assert [throttle.peek("agent_auth", f"203.0.113.{20 + n}").count for n in range(5)] == [1] * 5


def test_the_previous_token_counts_under_the_agent_s_current_key(settings, worker, limiter_backend):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "agent_requests": (3, 60)}
    old = mint_token(worker)
    new = mint_token(worker, grace=timedelta(minutes=10))

    statuses = [agent_client(old).get(HEALTHZ).status_code for _ in range(2)]
    statuses += [agent_client(new).get(HEALTHZ).status_code for _ in range(2)]

    assert statuses == [200, 200, 200, 429]
    worker.refresh_from_db()
    assert throttle.peek("agent_requests", worker.token_key).count == 3
    assert throttle.peek("agent_requests", old.split("_")[1]).count == 0


def test_an_agent_request_costs_one_round_trip_to_redis_and_a_wrong_token_two(settings, worker, redis_url,
                                                                             monkeypatch):
    use_redis_limits(settings, redis_url)
    token = mint_token(worker)
    right, wrong = agent_client(token, ip="203.0.113.50"), agent_client(token[:-4] + "zzzz", ip="203.0.113.51")
    assert (right.get(HEALTHZ).status_code, wrong.get(HEALTHZ).status_code) == (200, 401)  # scripts loaded
    sent = redis_commands_sent(monkeypatch)
    assert right.get(HEALTHZ).status_code == 200
    assert len(sent) == 1
    sent.clear()
    assert wrong.get(HEALTHZ).status_code == 401
    assert len(sent) == 2
    assert throttle.peek("agent_requests", worker.token_key).count == 2  # the two right requests only
