from __future__ import annotations

import logging

import pytest

from agents.models import Agent
from agents.tokens import authenticate_token, mint_token, revoke_token, token_digest

pytestmark = pytest.mark.django_db


def test_a_minted_token_authenticates_its_agent(worker):
    token = mint_token(worker)

    assert token.startswith("mc_")
    assert authenticate_token(token) == worker


def test_only_a_keyed_digest_of_the_token_is_stored(worker):
    token = mint_token(worker)

    stored = Agent.objects.values("token_key", "token_digest").get(pk=worker.pk)
    assert stored["token_digest"] == token_digest(token)
    assert token.split("_", 2)[2] not in stored["token_digest"]
    assert stored["token_key"] in token


def test_the_digest_depends_on_the_server_key(settings, worker):
    token = mint_token(worker)
    before = token_digest(token)

    settings.AGENT_TOKEN_PEPPER = "a different pepper for agent tokens " * 2

    assert token_digest(token) != before
    assert authenticate_token(token) is None


def test_rotating_a_token_invalidates_the_old_one_at_once(worker):
    old = mint_token(worker)
    new = mint_token(worker)

    assert authenticate_token(old) is None
    assert authenticate_token(new) == worker


def test_a_revoked_token_no_longer_authenticates(worker):
    token = mint_token(worker)
    revoke_token(worker)

    assert authenticate_token(token) is None


def test_a_wrong_secret_for_a_real_key_is_refused(worker):
    token = mint_token(worker)
    wrong = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")

    assert authenticate_token(wrong) is None


@pytest.mark.parametrize("raw", ["", "mc_", "nonsense", "mc_0123456789abcdef_" + "x" * 43, "x" * 5000,
                                 "mc_ZZZZ_secret"])
def test_malformed_and_unknown_tokens_are_refused(worker, raw):
    mint_token(worker)

    assert authenticate_token(raw) is None


def test_authentication_is_one_query_whatever_the_number_of_agents(board, worker, django_assert_num_queries):
    from tests.conftest import make_agent

    for number in range(30):
        mint_token(make_agent(f"Agent {number}", board=board))
    token = mint_token(worker)

    with django_assert_num_queries(1):
        agent = authenticate_token(token)

    assert agent == worker
    assert agent.board_id == worker.board_id and agent.last_seen_at == worker.last_seen_at
    assert agent.created_at == worker.created_at


def test_an_unknown_token_costs_one_query_too(worker, django_assert_num_queries):
    mint_token(worker)

    with django_assert_num_queries(1):
        assert authenticate_token("mc_0123456789abcdef_" + "s" * 43) is None


def test_a_refused_token_is_logged_with_a_short_prefix_only(worker, caplog):
    token = mint_token(worker)
    wrong = token[:-6] + "zzzzzz"

    with caplog.at_level(logging.INFO, logger="agents.tokens"):
        authenticate_token(wrong)

    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "refused" in logged
    assert wrong not in logged
    assert wrong[:20] not in logged
