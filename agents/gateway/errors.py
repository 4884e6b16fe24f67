"""Everything that can go wrong talking to a gateway, as one family of exceptions.

Each carries a stable ``code`` for programs, a ``sentence`` for the operator (what is
wrong and what to do about it; never a library's message), and whether trying again
later can help (``retryable``, ``retry_after`` seconds when the gateway said how long).
``refusal_from`` turns the gateway's own error objects into this vocabulary; both
gateway releases word some refusals differently, and this is the one place that knows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from agents.gateway.frames import ShutdownNotice

OUR_PROTOCOLS = (3, 4)
# Which token the operator must paste: the gateway's own, not one Mission Control issued.
GATEWAY_TOKEN_SOURCE = "OPENCLAW_GATEWAY_TOKEN or gateway.auth.token in the gateway's openclaw.json"


class GatewayError(Exception):
    code: ClassVar[str] = "gateway_error"

    def __init__(self, sentence: str, *, retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.retryable = retryable
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.sentence


class InvalidGatewayUrl(GatewayError):
    code = "invalid_url"

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"The gateway URL {url!r} {problem}; it should look like ws://host:18789 or wss://host.")
        self.url = url


# Words for the socket errors an operator meets, so no errno text reaches a sentence.
_OS_REASONS = {
    "ECONNREFUSED": "the connection was refused (nothing listens on that port)",
    "ECONNRESET": "the connection was reset",
    "ETIMEDOUT": "the connection attempt timed out",
    "EHOSTUNREACH": "the host is unreachable",
    "ENETUNREACH": "the network is unreachable",
    "EADDRNOTAVAIL": "the address is not available from here",
}


class GatewayUnreachable(GatewayError):
    """No WebSocket could be opened: ``stage`` is ``resolve``, ``tcp``, ``tls`` or ``upgrade``."""

    code = "unreachable"

    def __init__(
        self,
        url: str,
        stage: str,
        reason: str,
        *,
        status: int | None = None,
        retryable: bool = True,
        detail: str = "",
    ) -> None:
        super().__init__(reason, retryable=retryable)
        self.url = url
        self.stage = stage
        self.status = status
        # The library's own words, for logs only.
        self.detail = detail

    @classmethod
    def unresolvable(cls, url: str, host: str, *, temporary: bool, detail: str = "") -> GatewayUnreachable:
        why = "the name server did not answer in time" if temporary else "no such host is known"
        return cls(url, "resolve",
                   f"The gateway host {host} cannot be resolved ({why}). Check the host name in {url}.",
                   retryable=temporary, detail=detail)

    @classmethod
    def refused(cls, url: str, where: str, errno_name: str | None, detail: str = "") -> GatewayUnreachable:
        why = _OS_REASONS.get(errno_name or "", "the connection failed")
        return cls(url, "tcp",
                   f"Could not open a connection to {where}: {why}. Check that the gateway is running "
                   f"and listening on that address and port.", detail=detail)

    @classmethod
    def tls_failed(cls, url: str, where: str, *, certificate: bool, plain: bool, detail: str = "") -> GatewayUnreachable:
        if plain:
            sentence = (f"The TLS handshake with {where} failed: the server did not answer in TLS, so it "
                        f"probably serves plain WebSocket. Use a ws:// URL, or turn on gateway.tls on the gateway.")
        elif certificate:
            sentence = (f"The TLS certificate of {where} is not trusted (a self-signed certificate?). Give the "
                        f"gateway a certificate this host trusts, or allow insecure TLS for this gateway.")
        else:
            sentence = f"The TLS handshake with {where} failed. Check that the port serves wss:// and its TLS settings."
        return cls(url, "tls", sentence, retryable=not (certificate or plain), detail=detail)

    @classmethod
    def upgrade_dropped(cls, url: str, detail: str = "") -> GatewayUnreachable:
        """The connection ended in the middle of the upgrade: nothing says what the server is."""
        return cls(url, "upgrade", f"The connection to {url} closed during the WebSocket upgrade. "
                   f"Mission Control tries again shortly.", detail=detail)

    @classmethod
    def upgrade_refused(cls, url: str, status: int | None, detail: str = "") -> GatewayUnreachable:
        if status is None:
            sentence = f"The server at {url} did not answer the WebSocket upgrade with HTTP."
            if url.startswith("ws://"):
                sentence += " If the gateway has gateway.tls turned on, use a wss:// URL;"
                sentence += " otherwise it is not an OpenClaw gateway (check the port; its default is 18789)."
            else:
                sentence += " It is not an OpenClaw gateway (check the port; its default is 18789)."
            return cls(url, "upgrade", sentence, retryable=False, detail=detail)
        if status == 503:
            sentence = (f"The gateway at {url} answered HTTP 503: it is restarting or stopping. "
                        f"Mission Control tries again shortly.")
            return cls(url, "upgrade", sentence, status=status, detail=detail)
        if status == 403:
            sentence = (f"The gateway at {url} refused the WebSocket upgrade (HTTP 403). A proxy in front of "
                        f"it must be listed in the gateway's gateway.trustedProxies, or connect to it directly.")
        else:
            sentence = (f"The server at {url} answered the WebSocket upgrade with HTTP {status}: it is a web "
                        f"server but not an OpenClaw gateway at that address (check the port and path; the "
                        f"gateway's default port is 18789).")
        return cls(url, "upgrade", sentence, status=status, retryable=status >= 500, detail=detail)


class GatewayTimeout(GatewayError):
    """Nothing came in time; ``stage`` says what we were waiting for."""

    code = "timeout"

    _WAITING_FOR: ClassVar[dict[str, str]] = {
        "resolve": "the host name to resolve",
        "tcp": "a TCP connection",
        "tls": "the TLS handshake",
        "upgrade": "the answer to the WebSocket upgrade",
        "challenge": "the gateway's connect.challenge",
        "connect": "the answer to connect",
    }

    def __init__(self, url: str, stage: str, seconds: float, method: str | None = None) -> None:
        waiting = self._WAITING_FOR.get(stage) or f"the answer to {method or stage}"
        sentence = f"The gateway at {url} did not send {waiting} within {seconds:g} s."
        if stage == "challenge":
            sentence += " It accepted the WebSocket but is not speaking the OpenClaw protocol (or is overloaded)."
        elif stage not in self._WAITING_FOR:
            sentence += " If that was a change, it may still be carried out: read the state before repeating it."
        super().__init__(sentence, retryable=True)
        self.url = url
        self.stage = stage
        self.seconds = seconds
        self.method = method


class UnexpectedFrame(GatewayError):
    code = "unexpected_frame"

    def __init__(self, url: str, what: str) -> None:
        super().__init__(f"The server at {url} does not speak the OpenClaw gateway protocol: {what}.")
        self.url = url


class ProtocolMismatch(GatewayError):
    code = "protocol_mismatch"

    def __init__(self, url: str, expected: int | None, offered: Sequence[int] = OUR_PROTOCOLS) -> None:
        low, high = min(offered), max(offered)
        ours = f"{low}" if low == high else f"{low} to {high}"
        if expected is None:
            sentence = f"The gateway at {url} does not speak protocol {ours}, the only ones Mission Control speaks."
        elif expected > high:
            sentence = (f"The gateway at {url} speaks protocol {expected}; this Mission Control speaks {ours}. "
                        f"Upgrade Mission Control, or run a gateway release that speaks protocol {high}.")
        else:
            sentence = (f"The gateway at {url} speaks protocol {expected}; Mission Control speaks {ours}. "
                        f"Upgrade the gateway (openclaw update) to a release that speaks protocol {ours}.")
        super().__init__(sentence)
        self.url = url
        self.expected = expected
        self.offered = tuple(offered)


class PairingRequired(GatewayError):
    code = "pairing_required"

    def __init__(self, url: str, device_id: str, request_id: str | None) -> None:
        request = request_id or "<requestId from: openclaw devices list>"
        super().__init__(
            f"The gateway at {url} has not approved Mission Control's device {device_id} yet. "
            f"Approve it on the gateway host with: openclaw devices approve {request} --url {url} "
            f"--token <gateway token>, then try again.")
        self.url = url
        self.device_id = device_id
        self.request_id = request_id


class BadToken(GatewayError):
    code = "bad_token"

    def __init__(self, url: str, reason: str) -> None:
        what = "no token was sent" if reason == "missing" else "the token does not match"
        super().__init__(
            f"The gateway at {url} refused Mission Control's token ({what}). Set this gateway's token to "
            f"the gateway's own token ({GATEWAY_TOKEN_SOURCE}), not a Mission Control token.")
        self.url = url
        self.reason = reason


class HandshakeRefused(GatewayError):
    """A connect refusal no other class describes (device proof, client fields, origin)."""

    code = "handshake_refused"

    def __init__(self, url: str, gateway_code: str, message: str, details: Mapping[str, Any]) -> None:
        reason = str(details.get("code") or "")
        if reason == "DEVICE_AUTH_SIGNATURE_EXPIRED":
            sentence = (f"The gateway at {url} refused the device signature as stale: the clocks of this host "
                        f"and the gateway host differ by more than two minutes. Synchronise them (NTP).")
        else:
            sentence = (f"The gateway at {url} refused Mission Control's connect request ({message!r}). "
                        f"This is a bug or an incompatible gateway release; report it with the gateway version.")
        super().__init__(sentence)
        self.url = url
        self.gateway_code = gateway_code
        self.message = message
        self.details = dict(details)


class MissingScope(GatewayError):
    code = "missing_scope"

    def __init__(self, url: str, scopes: Sequence[str], method: str | None = None) -> None:
        names = ", ".join(scopes)
        if method is None:
            sentence = (f"The gateway at {url} accepted the connection but did not grant {names}. Gateways give "
                        f"token-only connections from another host no scopes at all: pair Mission Control's "
                        f"device on the gateway (openclaw devices list, then approve) or connect over loopback.")
        else:
            sentence = (f"The gateway at {url} refused {method}: the connection lacks the {names} scope. "
                        f"Approve Mission Control's device with that scope (openclaw devices list / approve).")
        super().__init__(sentence)
        self.url = url
        self.scopes = tuple(scopes)
        self.method = method


class GatewayStarting(GatewayError):
    code = "gateway_starting"

    def __init__(self, url: str, retry_after: float | None) -> None:
        super().__init__(f"The gateway at {url} is still starting; Mission Control tries again shortly.",
                         retryable=True, retry_after=retry_after)
        self.url = url


# 1012 is "service restart" for both a restart and a stop; the shutdown event tells them apart.
SERVICE_RESTART = 1012
TRY_AGAIN_LATER = 1013
POLICY_CHANGED = 4001


class ConnectionLost(GatewayError):
    """The open connection ended. ``in_flight`` names a change that may or may not have
    been applied when the connection went."""

    code = "connection_lost"

    def __init__(
        self,
        url: str,
        close_code: int | None,
        close_reason: str = "",
        *,
        shutdown: ShutdownNotice | None = None,
        in_flight: str | None = None,
    ) -> None:
        self.url = url
        self.close_code = close_code
        self.close_reason = close_reason
        self.shutdown = shutdown
        self.in_flight = in_flight
        retry_after: float | None = None
        if shutdown is not None and shutdown.restart_expected_ms is not None:
            retry_after = shutdown.restart_expected_ms / 1000
        super().__init__(self._sentence(), retryable=True, retry_after=retry_after)

    def _sentence(self) -> str:
        url = self.url
        if self.shutdown is not None and self.shutdown.is_restart:
            sentence = f"The gateway at {url} is restarting."
        elif self.shutdown is not None:
            sentence = f"The gateway at {url} stopped. Start it again; Mission Control reconnects by itself."
        elif self.close_code == SERVICE_RESTART:
            sentence = f"The gateway at {url} closed the connection to restart or stop."
        elif self.close_code == POLICY_CHANGED:
            sentence = f"The gateway at {url} closed the connection because its policy changed; reconnecting works at once."
        elif self.close_code in (None, 1006):
            sentence = (f"The connection to the gateway at {url} broke without a goodbye (a network failure, "
                        f"or the gateway process ended).")
        else:
            said = f" ({self.close_reason})" if self.close_reason else ""
            sentence = f"The gateway at {url} closed the connection with code {self.close_code}{said}."
        if self.in_flight:
            sentence += (f" {self.in_flight} was sent but not answered, so it may or may not have been applied; "
                         f"read the gateway's state before repeating it.")
        return sentence

    def again(self, *, shutdown: ShutdownNotice | None = None, in_flight: str | None = None) -> ConnectionLost:
        return ConnectionLost(self.url, self.close_code, self.close_reason,
                              shutdown=shutdown or self.shutdown, in_flight=in_flight or self.in_flight)


class RateLimited(GatewayError):
    code = "rate_limited"

    def __init__(self, url: str, method: str, retry_after: float | None, limit: str | None = None) -> None:
        budget = f" (its limit is {limit})" if limit else ""
        when = f"in {round(retry_after, 1):g} s" if retry_after is not None else "later"
        super().__init__(f"The gateway at {url} is rate-limiting {method}{budget}; try again {when}.",
                         retryable=True, retry_after=retry_after)
        self.url = url
        self.method = method
        self.limit = limit


# The two releases word "no such agent" differently, and chat.send words it a third way.
_NOT_FOUND = re.compile(r'agent "[^"]*" (not found|no longer exists)|unknown agent id', re.IGNORECASE)
_ALREADY_EXISTS = re.compile(r"already exists", re.IGNORECASE)
_UNSUPPORTED_FILE = re.compile(r'unsupported file "', re.IGNORECASE)
_STALE_CONFIG = re.compile(r"config changed since last load|changed since it was read", re.IGNORECASE)
_BASE_HASH_REQUIRED = re.compile(r"config base hash required", re.IGNORECASE)


class RequestError(GatewayError):
    """The gateway refused one call; its own code, message and details are kept."""

    code = "request_refused"

    def __init__(
        self,
        url: str,
        method: str,
        gateway_code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"The gateway at {url} refused {method}: {message}", retryable=retryable,
                         retry_after=retry_after)
        self.url = url
        self.method = method
        self.gateway_code = gateway_code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    @property
    def is_not_found(self) -> bool:
        return bool(_NOT_FOUND.search(self.message))

    @property
    def is_already_exists(self) -> bool:
        return bool(_ALREADY_EXISTS.search(self.message))

    @property
    def is_unsupported_file(self) -> bool:
        return bool(_UNSUPPORTED_FILE.search(self.message))

    @property
    def is_stale_hash(self) -> bool:
        return self.details.get("type") == "agent_file_conflict" or bool(_STALE_CONFIG.search(self.message))

    @property
    def is_base_hash_required(self) -> bool:
        return bool(_BASE_HASH_REQUIRED.search(self.message))


def _seconds(milliseconds: Any) -> float | None:
    return milliseconds / 1000 if isinstance(milliseconds, int | float) and milliseconds >= 0 else None


def refusal_from(error: Mapping[str, Any], *, method: str, url: str, device_id: str) -> GatewayError:
    """The exception for the gateway's ``error`` object answering ``method``."""
    gateway_code = str(error.get("code") or "")
    message = str(error.get("message") or "")
    raw_details = error.get("details")
    details: Mapping[str, Any] = raw_details if isinstance(raw_details, Mapping) else {}
    detail_code = str(details.get("code") or "")
    retry_after = _seconds(error.get("retryAfterMs"))

    if gateway_code == "UNAVAILABLE":
        if details.get("reason") == "startup-sidecars" or "gateway starting" in message:
            return GatewayStarting(url, retry_after)
        if "rate limit" in message:
            limit = details.get("limit")
            return RateLimited(url, str(details.get("method") or method), retry_after,
                               str(limit) if limit else None)
    if detail_code == "MISSING_SCOPE" or message.startswith("missing scope:"):
        scope = details.get("missingScope") or message.partition(":")[2].strip()
        return MissingScope(url, [str(scope)], method)
    if method == "connect":
        if detail_code == "PROTOCOL_MISMATCH" or message == "protocol mismatch":
            expected = details.get("expectedProtocol")
            return ProtocolMismatch(url, expected if isinstance(expected, int) else None)
        if detail_code == "PAIRING_REQUIRED":
            request_id = details.get("requestId")
            return PairingRequired(url, str(details.get("deviceId") or device_id),
                                   str(request_id) if request_id else None)
        if detail_code == "AUTH_TOKEN_MISMATCH":
            return BadToken(url, "mismatch")
        if detail_code == "AUTH_TOKEN_MISSING":
            return BadToken(url, "missing")
        return HandshakeRefused(url, gateway_code, message, details)
    return RequestError(url, method, gateway_code, message, details,
                        retryable=error.get("retryable") is True, retry_after=retry_after)


def closed_before_answer(url: str, close_code: int | None, close_reason: str) -> GatewayError:
    """A connection that closed before the gateway answered connect."""
    if close_code == TRY_AGAIN_LATER:
        return GatewayStarting(url, None)
    if close_code == 1002 and "protocol" in close_reason:
        return ProtocolMismatch(url, None)
    return ConnectionLost(url, close_code, close_reason)
