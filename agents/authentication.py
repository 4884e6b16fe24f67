"""How callers prove who they are: one authentication class per kind of caller.

People (and REST clients acting for them) on the user API, by ``AUTH_MODE``:

- ``local``: ``Authorization: Bearer <LOCAL_AUTH_TOKEN>`` is the local operator;
- ``clerk``: ``Authorization: Bearer <Clerk session JWT>``, verified offline (RS256)
  against the instance's JWKS, with issuer, expiry and ``CLERK_LEEWAY``;
- the console's Django session (CSRF checked on unsafe methods), in both modes.

Each token class also checks the mode at request time, so a list holding both is safe.
Agents, on the agent API: their token, in ``X-Agent-Token`` or ``Authorization: Bearer``
(:class:`AgentTokenAuthentication`). A few user routes take both kinds of caller (agents
may read a board's tasks there); their list holds the people's classes and then the
agent class, and the people's bearer classes pass over a token in the agent shape.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
import urllib.request
from hashlib import sha256
from typing import Any

import jwt
from django.conf import settings
from django.core.cache import cache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request

from agents import presence
from agents.identity import clerk_user, local_operator
from agents.models import Agent, User
from agents.tokens import authenticate_token, looks_like_agent_token, token_key
from ops import throttle
from ops.client_ip import client_ip

# SessionAuthentication (the console's Django session, CSRF checked on unsafe methods) is
# DRF's class as it is, re-exported so settings name every user class from this module.
__all__ = ["AgentTokenAuthentication", "ClerkJWTAuthentication", "LocalTokenAuthentication", "SessionAuthentication",
           "bearer_token", "presented_token", "request_agent"]

logger = logging.getLogger(__name__)

JWKS_FETCH_TIMEOUT_SECONDS = 5
# An unknown ``kid`` usually means Clerk rotated its keys; refetching is right then, but
# tokens with made-up kids must not turn every request into a fetch.
JWKS_REFETCH_MIN_SECONDS = 10.0


def bearer_token(request: Request) -> str | None:
    """The credentials of ``Authorization: Bearer ...``, or None without such a header."""
    scheme, _, credentials = str(request.META.get("HTTP_AUTHORIZATION", "")).partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip()


class LocalTokenAuthentication(BaseAuthentication):
    """``AUTH_MODE=local``: the shared operator token acts as the local operator user."""

    def authenticate(self, request: Request) -> tuple[User, None] | None:
        if settings.AUTH_MODE != "local":
            return None
        token = bearer_token(request)
        if token is None:
            return None
        expected = settings.LOCAL_AUTH_TOKEN
        if token and expected and hmac.compare_digest(token.encode(), expected.encode()):
            return local_operator(), None
        if looks_like_agent_token(token):
            return None  # an agent's token: the agent class decides, on the routes that have it
        raise exceptions.AuthenticationFailed("Invalid token.")

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class AuthenticationUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Session tokens cannot be verified right now; try again shortly."
    default_code = "authentication_unavailable"


class JwksCache:
    """The Clerk signing keys: in process, then in the Django cache, then from the URL."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, Any] = {}
        self._url = ""
        self._fetched_at = float("-inf")  # last load, from the URL or the shared cache
        self._refreshed_at = float("-inf")  # last download forced by an unknown kid

    def clear(self) -> None:
        with self._lock:
            self._keys, self._url = {}, ""
            self._fetched_at = self._refreshed_at = float("-inf")

    def _cache_key(self, url: str) -> str:
        return "clerk-jwks:" + sha256(url.encode()).hexdigest()[:32]

    def _download(self, url: str) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(url, timeout=JWKS_FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310
                return json.loads(response.read())
        except (OSError, ValueError) as exc:
            logger.warning("Could not fetch the Clerk JWKS from %s: %s", url, exc)
            raise AuthenticationUnavailable() from exc

    def _load(self, url: str, *, refresh: bool) -> None:
        document = None if refresh else cache.get(self._cache_key(url))
        if document is None:
            document = self._download(url)
            cache.set(self._cache_key(url), document, settings.CLERK_JWKS_CACHE_SECONDS)
        keys: dict[str, Any] = {}
        for jwk in document.get("keys", []) if isinstance(document, dict) else []:
            try:
                key = jwt.PyJWK.from_dict(jwk)
            except jwt.PyJWTError:
                continue  # a key type we do not use must not hide the others
            if key.key_id:
                keys[key.key_id] = key
        self._keys, self._url, self._fetched_at = keys, url, time.monotonic()

    def key_for(self, kid: str) -> Any:
        url = settings.CLERK_JWKS_URL
        with self._lock:
            if self._url != url or time.monotonic() - self._fetched_at > settings.CLERK_JWKS_CACHE_SECONDS:
                self._load(url, refresh=False)
            if kid not in self._keys and time.monotonic() - self._refreshed_at >= JWKS_REFETCH_MIN_SECONDS:
                self._load(url, refresh=True)
                self._refreshed_at = time.monotonic()
            return self._keys.get(kid)


jwks_cache = JwksCache()


class ClerkJWTAuthentication(BaseAuthentication):
    """``AUTH_MODE=clerk``: a Clerk session JWT; its ``sub`` is the user."""

    def authenticate(self, request: Request) -> tuple[User, None] | None:
        if settings.AUTH_MODE != "clerk":
            return None
        token = bearer_token(request)
        if token is None or looks_like_agent_token(token):
            return None  # no bearer, or an agent's token for the agent class
        claims = self.verify(token)
        user = clerk_user(str(claims["sub"]), claims)
        if not user.is_active:
            raise exceptions.AuthenticationFailed("This user is deactivated.")
        return user, None

    def verify(self, token: str) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise exceptions.AuthenticationFailed("Invalid session token.") from exc
        key = jwks_cache.key_for(str(kid)) if kid else None
        if key is None:
            raise exceptions.AuthenticationFailed("Session token signed by an unknown key.")
        try:
            claims = jwt.decode(token, key=key.key, algorithms=["RS256"], issuer=settings.CLERK_ISSUER,
                                leeway=settings.CLERK_LEEWAY,
                                options={"require": ["exp", "iss", "sub"], "verify_aud": False})
        except jwt.ExpiredSignatureError as exc:
            raise exceptions.AuthenticationFailed("Session token has expired.") from exc
        except jwt.InvalidIssuerError as exc:
            raise exceptions.AuthenticationFailed("Session token has the wrong issuer.") from exc
        except jwt.PyJWTError as exc:
            raise exceptions.AuthenticationFailed("Invalid session token.") from exc
        sub = claims.get("sub")
        # "require" only checks that the claim is there; an empty sub would name no one
        # (and every such token would be the same user).
        if not isinstance(sub, str) or not sub.strip():
            raise exceptions.AuthenticationFailed("Invalid session token.")
        return claims

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class LocalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "agents.authentication.LocalTokenAuthentication"
    name = "UserBearer"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer",
                "description": "AUTH_MODE=local: the LOCAL_AUTH_TOKEN acts as the local operator."}


class ClerkJwtScheme(OpenApiAuthenticationExtension):
    target_class = "agents.authentication.ClerkJWTAuthentication"
    name = "UserBearer"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "AUTH_MODE=clerk: a Clerk session JWT."}


# --- agents -----------------------------------------------------------------------------

AGENT_TOKEN_HEADER = "HTTP_X_AGENT_TOKEN"
# Failed authentications per client IP: what a token guesser runs into.
FAILED_AUTH_SCOPE = "agent_auth"
# Requests per agent (its token's key id): many agents share one gateway's IP, so a
# per-IP count of good requests would make them starve each other.
AGENT_REQUESTS_SCOPE = "agent_requests"


def presented_token(request: Request) -> str | None:
    """The token the caller sent, or None when it sent none. ``X-Agent-Token`` wins."""
    meta = request.META
    token = meta.get(AGENT_TOKEN_HEADER)
    if token is not None:
        return token.strip()
    scheme, _, credentials = str(meta.get("HTTP_AUTHORIZATION", "")).partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    return None


class AgentTokenAuthentication(BaseAuthentication):
    """The agent API's authentication: ``request.user`` is the calling :class:`Agent`.

    Two limits, so that guessing costs the guesser and many honest agents behind one
    gateway address do not:

    - ``agent_auth`` counts the *failed* authentications of a client IP; an address over
      it gets 429 before its token is looked at, whatever token it sends;
    - ``agent_requests`` counts every request of an agent once its token is known.
    """

    def authenticate(self, request: Request) -> tuple[Agent, None] | None:
        raw = presented_token(request)
        if raw is None:
            return None
        ip = client_ip(request)
        # The public key of a well-formed token names the agent before the lookup, so the
        # address's failures are read and the agent's request counted in one round trip;
        # the count is taken back if the token turns out wrong.
        key = token_key(raw)
        if key is None:
            request_count = None
            refuse_when_over(throttle.peek(FAILED_AUTH_SCOPE, ip))
        else:
            failures, request_count = throttle.peek_then_hit(FAILED_AUTH_SCOPE, ip, AGENT_REQUESTS_SCOPE, key)
            refuse_when_over(failures)
        provisional = request_count.counted if request_count is not None else None
        agent = authenticate_token(raw) if raw else None
        if agent is None:
            throttle.hit(FAILED_AUTH_SCOPE, ip, take_back=provisional)
            raise exceptions.AuthenticationFailed("Invalid agent token.")
        bucket = agent.token_key or str(agent.pk)
        if bucket != key:
            # Its previous token, during the grace after a rotation: the agent's requests
            # count under its current key, as always.
            request_count = throttle.hit(AGENT_REQUESTS_SCOPE, bucket, take_back=provisional)
        if request_count is not None:
            refuse_when_over(request_count)
        presence.mark_seen(agent)
        return agent, None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="agent"'


def refuse_when_over(result: throttle.ThrottleResult) -> None:
    if not result.allowed:
        raise exceptions.Throttled(wait=result.retry_after)


def request_agent(request: Any) -> Agent:
    """The authenticated agent of an agent API request."""
    agent = request.user
    if not isinstance(agent, Agent):
        raise exceptions.NotAuthenticated("Send your agent token in X-Agent-Token or Authorization: Bearer.")
    return agent
