"""Agent tokens: shown once, stored as a keyed digest, found with one indexed lookup.

A token reads ``mc_<key>_<secret>``. ``key`` is a public random id stored in
``Agent.token_key`` (unique, indexed), so authentication is one lookup by key and one
constant-time comparison of HMAC-SHA256 digests, whatever the number of agents. Only the
digest of the whole token is stored; a database dump does not hand out working tokens.
The HMAC key is ``AGENT_TOKEN_PEPPER`` or, when that is empty, derived from
``SECRET_KEY`` for this purpose only.

An agent on a gateway gets its token through its workspace files, which the worker
writes after the change that minted it. Two things keep it working meanwhile: the
previous token stays valid for a grace period (until the agent first uses the new one,
or ``previous_token_expires_at``), and the new token waits sealed (AES-GCM under a key
derived from ``SECRET_KEY``) in ``pending_token`` until the worker has written it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import connections
from django.db.models import Q
from django.utils import timezone

from agents.models import Agent, Board

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "mc_"
KEY_BYTES = 8  # 16 hex characters: ample against collisions, short enough to quote in logs
SECRET_BYTES = 32
# Longer input is never a token of ours; refusing it early bounds the work a caller can cause.
MAX_TOKEN_LENGTH = 128
_TOKEN_SHAPE = re.compile(r"mc_([0-9a-f]{16})_([A-Za-z0-9_-]{20,100})")
_KEY_PURPOSE = b"missioncontrol.agents.tokens.digest-key"
_SEAL_PURPOSE = b"missioncontrol.agents.tokens.pending-seal"
# How long an agent may keep using its previous token after a rotation, at most.
ROTATION_GRACE = timedelta(hours=1)
# Compared against when the key is unknown, so unknown and wrong tokens cost the same.
_NO_MATCH_DIGEST = "0" * 64


@lru_cache(maxsize=4)
def _digest_key(pepper: str, secret_key: str) -> bytes:
    material = pepper or secret_key
    return hmac.new(material.encode(), _KEY_PURPOSE, hashlib.sha256).digest()


@dataclass(frozen=True)
class _Lookup:
    """The agent-by-key query, compiled once per database: its SQL, the attribute each
    selected column fills, and the converters the ORM would apply to each column. The
    agent's board comes in the same row (a LEFT JOIN), so a board route does not read it
    again."""

    sql: str
    attnames: list[str]
    board_attnames: list[str]
    converters: list[tuple[int, list[Any], Any]]

    def agent(self, alias: str, key: str) -> Agent | None:
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [key, key])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for index, functions, expression in self.converters:
            for convert in functions:
                values[index] = convert(values[index], expression, connection)
        split = len(self.attnames)
        agent = Agent.from_db(alias, self.attnames, values[:split])
        board = Board.from_db(alias, self.board_attnames, values[split:]) if agent.board_id is not None else None
        Agent.board.field.set_cached_value(agent, board)
        return agent


@lru_cache(maxsize=4)
def _lookup(alias: str, vendor: str) -> _Lookup:
    """Every agent request runs this lookup, and building it through the ORM each time
    (compiling the query, then ``raw()`` working out columns and converters per call) cost
    more CPU than the query itself. So the SQL, the columns and their converters are worked
    out once per database, by the ORM, and each request only executes and converts. Both
    columns are unique and indexed: the database answers with one index probe each."""
    query = (Agent.objects.select_related("board").filter(Q(token_key="") | Q(previous_token_key=""))
             .order_by()[:1].query)
    compiler = query.get_compiler(using=alias)
    sql, _ = compiler.as_sql()
    columns = [column for column, _, _ in compiler.select]
    converters = [(index, functions, expression)
                  for index, (functions, expression) in compiler.get_converters(columns).items()]
    # The agent's columns come first, then the board's (the ORM's select_related order).
    owners = [column.target.model for column in columns]
    split = owners.index(Board)
    assert all(owner is Agent for owner in owners[:split]) and all(owner is Board for owner in owners[split:])
    return _Lookup(sql, [column.target.attname for column in columns[:split]],
                   [column.target.attname for column in columns[split:]], converters)


def token_digest(token: str) -> str:
    """Hex HMAC-SHA256 of the whole token under the server's token key."""
    key = _digest_key(settings.AGENT_TOKEN_PEPPER, settings.SECRET_KEY)
    return hmac.new(key, token.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def token_hint(raw: str) -> str:
    """What logs may show of a presented token: never more than its public part."""
    return raw[:len(TOKEN_PREFIX) + 6] + "…" if raw else "(empty)"


def assign_new_token(agent: Agent) -> str:
    """Sets a new token's key and digest on ``agent`` without saving; returns the plaintext.

    For creating many agents at once (``bulk_create``); everything else calls ``mint_token``."""
    token_key = secrets.token_hex(KEY_BYTES)
    token = f"{TOKEN_PREFIX}{token_key}_{secrets.token_urlsafe(SECRET_BYTES)}"
    agent.token_key = token_key
    agent.token_digest = token_digest(token)
    agent.token_rotated_at = timezone.now()
    return token


TOKEN_FIELDS = ["token_key", "token_digest", "token_rotated_at", "previous_token_key", "previous_token_digest",
                "previous_token_expires_at", "token_confirmed_at", "updated_at"]


def mint_token(agent: Agent, *, grace: timedelta | None = None) -> str:
    """Gives ``agent`` a new token; returns the plaintext.

    Without ``grace`` the earlier token stops working at once. With it, the earlier token
    keeps working until the agent first calls with the new one or ``grace`` has passed.
    The plaintext exists only in the return value: show it to the caller once."""
    if grace is not None and agent.token_key:
        agent.previous_token_key, agent.previous_token_digest = agent.token_key, agent.token_digest
        agent.previous_token_expires_at = timezone.now() + grace
    else:
        agent.previous_token_key, agent.previous_token_digest, agent.previous_token_expires_at = None, "", None
    token = assign_new_token(agent)
    agent.token_confirmed_at = None
    if agent._state.adding:
        agent.save()
    else:
        agent.save(update_fields=TOKEN_FIELDS)
    return token


@lru_cache(maxsize=4)
def _seal_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), _SEAL_PURPOSE, hashlib.sha256).digest()


def seal(token: str) -> str:
    """``token`` encrypted for ``pending_token``; only :func:`unseal` on a server with the
    same ``SECRET_KEY`` reads it back."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_seal_key(settings.SECRET_KEY)).encrypt(nonce, token.encode(), _SEAL_PURPOSE)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(sealed: str) -> str | None:
    """The token :func:`seal` sealed, or None when it cannot be read (SECRET_KEY changed)."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return AESGCM(_seal_key(settings.SECRET_KEY)).decrypt(raw[:12], raw[12:], _SEAL_PURPOSE).decode()
    except (ValueError, InvalidTag):
        return None


def revoke_token(agent: Agent) -> None:
    """Leaves ``agent`` without a working token (the previous one included)."""
    agent.token_key, agent.token_digest = None, ""
    agent.previous_token_key, agent.previous_token_digest, agent.previous_token_expires_at = None, "", None
    agent.token_rotated_at = timezone.now()
    agent.save(update_fields=TOKEN_FIELDS)


def _confirm(agent: Agent, now: datetime) -> None:
    """The agent called with its current token: the previous one has served its purpose."""
    Agent.objects.filter(pk=agent.pk, token_key=agent.token_key).update(
        previous_token_key=None, previous_token_digest="", previous_token_expires_at=None, token_confirmed_at=now)
    agent.previous_token_key, agent.previous_token_digest, agent.previous_token_expires_at = None, "", None
    agent.token_confirmed_at = now


def _expected_digest(agent: Agent | None, key: str, now: datetime) -> tuple[str, bool]:
    """The digest the presented token must match, and whether it is the agent's current token."""
    if agent is None:
        return _NO_MATCH_DIGEST, False
    if agent.token_key == key:
        return agent.token_digest or _NO_MATCH_DIGEST, True
    in_grace = agent.previous_token_expires_at is not None and now < agent.previous_token_expires_at
    return (agent.previous_token_digest or _NO_MATCH_DIGEST) if in_grace else _NO_MATCH_DIGEST, False


def matches(agent: Agent, raw: str, now: datetime | None = None) -> str | None:
    """``current`` or ``previous`` (still in its grace) when ``raw`` is that token of
    ``agent``, else None; changes nothing."""
    match = _TOKEN_SHAPE.fullmatch(raw.strip()) if len(raw.strip()) <= MAX_TOKEN_LENGTH else None
    if match is None:
        return None
    expected, current = _expected_digest(agent, match[1], now or timezone.now())
    if not hmac.compare_digest(token_digest(raw.strip()), expected):
        return None
    return "current" if current else "previous"


def token_key(raw: str) -> str | None:
    """The public key of a token in the agent shape (``mc_<key>_<secret>``), right or wrong;
    None for any other input. The lookup is by it, and rate limits count an agent's
    requests under it."""
    raw = raw.strip()
    match = _TOKEN_SHAPE.fullmatch(raw) if len(raw) <= MAX_TOKEN_LENGTH else None
    return match[1] if match is not None else None


def looks_like_agent_token(raw: str) -> bool:
    """Whether ``raw`` has the shape of an agent token, right or wrong. People's bearer
    classes leave such tokens to the agent class on routes both may call."""
    return token_key(raw) is not None


def authenticate_token(raw: str) -> Agent | None:
    """The agent whose token ``raw`` is (its current one, or its previous one during the
    grace after a rotation), or None. Same answer and similar cost for a malformed, an
    unknown and a wrong token."""
    raw = raw.strip()
    presented = token_digest(raw[:MAX_TOKEN_LENGTH])
    key = token_key(raw)
    agent = None
    if key is not None:
        alias = Agent.objects.db
        agent = _lookup(alias, connections[alias].vendor).agent(alias, key)
    now = timezone.now()
    expected, current = _expected_digest(agent, key or "", now)
    if hmac.compare_digest(presented, expected) and agent is not None:
        if current and agent.previous_token_key is not None:
            _confirm(agent, now)
        return agent
    logger.warning("agent token refused: %s", token_hint(raw))
    return None
