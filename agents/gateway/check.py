"""The staged check of a gateway: each step of reaching it, timed, until the first
that fails, which is named with what to do about it.

Stages, in order: ``resolve`` (DNS), ``tcp``, ``tls`` (wss only), ``upgrade`` (the
HTTP WebSocket upgrade), ``challenge`` (the gateway speaks first), ``connect`` (token,
pairing, protocol, scopes) and ``read`` (one ``config.get``). One socket goes through
all of them, so each duration is that step alone. Each stage has its own timeout and
the whole check a total one.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from websockets.sync.client import ClientConnection

from agents.gateway import handshake, transport, wire
from agents.gateway.client import GatewayEndpoint, app_version
from agents.gateway.compatibility import GatewayVersion, missing_methods, parse_version
from agents.gateway.errors import (
    GATEWAY_TOKEN_SOURCE,
    OUR_PROTOCOLS,
    BadToken,
    GatewayError,
    GatewayStarting,
    GatewayTimeout,
    GatewayUnreachable,
    MissingScope,
    PairingRequired,
    ProtocolMismatch,
)
from agents.gateway.frames import GatewayEvent
from agents.gateway.identity import DeviceIdentity

__all__ = ["CheckReport", "CheckTimeouts", "StageResult", "check_gateway", "GatewayVersion",
           "missing_methods", "parse_version"]

T = TypeVar("T")

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})
READ_METHOD = "config.get"


@dataclass(frozen=True)
class CheckTimeouts:
    """Seconds per stage, and for the whole check."""

    resolve: float = 3.0
    tcp: float = 3.0
    tls: float = 5.0
    upgrade: float = 5.0
    challenge: float = 5.0
    connect: float = 10.0
    read: float = 10.0
    total: float = 30.0


@dataclass(frozen=True)
class StageResult:
    name: str
    ok: bool
    duration_ms: float
    detail: str = ""
    error: str = ""
    hint: str = ""
    code: str = ""
    # The failure may pass by itself (a gateway restarting or still starting).
    retryable: bool = False


@dataclass(frozen=True)
class CheckReport:
    ok: bool
    stages: tuple[StageResult, ...]
    failed_stage: str | None
    checked_at: datetime
    server_version: str | None = None
    protocol: int | None = None
    methods: frozenset[str] = field(default_factory=frozenset, repr=False)
    granted_scopes: frozenset[str] = field(default_factory=frozenset)
    # parsed.meta.lastTouchedVersion: the release that last wrote the gateway's config file.
    config_version: str | None = None

    @property
    def error(self) -> str:
        """The sentence of the stage that failed; empty when the check passed."""
        return next((stage.error for stage in self.stages if not stage.ok), "")

    @property
    def hint(self) -> str:
        return next((stage.hint for stage in self.stages if not stage.ok), "")


class _Failed(Exception):
    """A stage failed and was recorded; the check stops."""


def _docker_hint(address: transport.GatewayAddress) -> str:
    if address.host not in LOCAL_HOSTS:
        return ""
    scheme = "wss" if address.secure else "ws"
    return (f"If Mission Control runs in Docker, {address.host} is its own container: from inside Docker, "
            f"use {scheme}://host.docker.internal:{address.port} (and bind the gateway beyond loopback).")


def _hint(stage: str, error: GatewayError, address: transport.GatewayAddress, device_id: str) -> str:
    docker = _docker_hint(address)
    if stage == "resolve":
        return "Check the host name; from a container, a name must resolve inside the container's network."
    if stage == "tcp":
        local = (" A gateway bound to loopback (its default) accepts connections only from its own host; "
                 "set gateway.bind, or reach it through an SSH tunnel.")
        return (docker or "Check that the gateway runs (openclaw gateway status) and the port is open.") + local
    if stage == "tls" and isinstance(error, GatewayUnreachable):
        if "plain WebSocket" in error.sentence:
            return "Change the URL to ws://, or enable gateway.tls on the gateway and keep wss://."
        return "Allow insecure TLS only for a self-signed gateway certificate you trust."
    if stage == "upgrade" and isinstance(error, GatewayUnreachable):
        if error.status == 503:
            return "Wait a few seconds for the gateway to finish restarting, then check again."
        if error.status is None and not address.secure:
            return "A gateway with gateway.tls on answers only TLS: change the URL to wss://."
        return "Check the port: an OpenClaw gateway listens on 18789 unless configured otherwise."
    if stage == "challenge":
        return "Something other than an OpenClaw gateway answers at this address, or a proxy holds its frames back."
    if isinstance(error, GatewayStarting):
        return "The gateway is still starting (its port opens before it is ready); check again in a few seconds."
    if isinstance(error, BadToken):
        return f"Use the gateway's token: {GATEWAY_TOKEN_SOURCE}. A Mission Control token does not work here."
    if isinstance(error, PairingRequired):
        return f"Approve device {device_id} on the gateway host, then check again."
    if isinstance(error, ProtocolMismatch):
        low, high = OUR_PROTOCOLS
        return f"Mission Control speaks gateway protocols {low} to {high} (OpenClaw 2026.4 and later)."
    if isinstance(error, MissingScope):
        return "Pair Mission Control's device on the gateway so its connection is granted operator scopes."
    return ""


class _StagedCheck:
    def __init__(self, endpoint: GatewayEndpoint, identity: DeviceIdentity, timeouts: CheckTimeouts) -> None:
        self.endpoint = endpoint
        self.identity = identity
        self.timeouts = timeouts
        self.deadline = time.monotonic() + timeouts.total
        self.stages: list[StageResult] = []
        self.address: transport.GatewayAddress | None = None

    def run(self, name: str, timeout: float, step: Callable[[float], T], describe: Callable[[T], str]) -> T:
        budget = min(timeout, self.deadline - time.monotonic())
        started = time.monotonic()
        try:
            if budget <= 0:
                raise GatewayTimeout(self.endpoint.url, name, self.timeouts.total)
            value = step(budget)
        except GatewayError as error:
            hint = _hint(name, error, self.address, self.identity.device_id) if self.address else ""
            self.stages.append(StageResult(name, False, _ms(started), error=error.sentence, hint=hint,
                                           code=error.code, retryable=error.retryable))
            raise _Failed from error
        self.stages.append(StageResult(name, True, _ms(started), detail=describe(value)))
        return value


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _peer(sock: socket.socket) -> str:
    host, port = sock.getpeername()[:2]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def _tls_detail(sock: socket.socket, verified: bool) -> str:
    version = sock.version() if isinstance(sock, ssl.SSLSocket) else None
    trust = "certificate verified" if verified else "certificate not verified (insecure TLS allowed)"
    return f"{version or 'TLS'}, {trust}"


def _config_version(payload: Any) -> str | None:
    parsed = payload.get("parsed") if isinstance(payload, Mapping) else None
    meta = parsed.get("meta") if isinstance(parsed, Mapping) else None
    version = meta.get("lastTouchedVersion") if isinstance(meta, Mapping) else None
    return version if isinstance(version, str) else None


def check_gateway(
    endpoint: GatewayEndpoint,
    identity: DeviceIdentity,
    *,
    timeouts: CheckTimeouts | None = None,
    client_version: str | None = None,
) -> CheckReport:
    timeouts = timeouts or CheckTimeouts()
    checked_at = datetime.now(UTC)
    check = _StagedCheck(endpoint, identity, timeouts)
    sock: socket.socket | None = None
    ws: ClientConnection | None = None
    # Kept even when the connect stage then fails on scopes, to report what was granted.
    greetings: list[handshake.Hello] = []
    config_version: str | None = None

    def ignore(event: GatewayEvent) -> None:
        """A check reads no events; ticks and health may still arrive."""

    try:
        try:
            address = transport.parse_gateway_url(endpoint.url)
        except GatewayError as error:
            check.stages.append(StageResult("url", False, 0.0, error=error.sentence, code=error.code))
            raise _Failed from error
        check.address = address
        infos = check.run("resolve", timeouts.resolve, lambda t: transport.resolve(address, t),
                          lambda found: ", ".join(sorted({str(info[4][0]) for info in found})))
        sock = check.run("tcp", timeouts.tcp, lambda t: transport.open_tcp(address, infos, t), _peer)
        if address.secure:
            plain = sock
            verify = not endpoint.allow_insecure_tls
            sock = check.run("tls", timeouts.tls,
                             lambda t: transport.start_tls(plain, address, verify=verify, timeout=t),
                             lambda wrapped: _tls_detail(wrapped, verify))
        opened = sock
        ws = check.run("upgrade", timeouts.upgrade, lambda t: transport.upgrade(opened, address, t),
                       lambda _: "HTTP 101 Switching Protocols")
        live = ws
        challenge = check.run("challenge", timeouts.challenge,
                              lambda t: handshake.await_challenge(live, address.url, t),
                              lambda _: "connect.challenge received")

        def connect(budget: float) -> handshake.Hello:
            params = handshake.connect_params(challenge, token=endpoint.token, identity=identity,
                                              client_version=client_version or app_version())
            greeting = handshake.exchange_connect(live, url=address.url, params=params,
                                                  device_id=identity.device_id, timeout=budget,
                                                  on_event=ignore)
            greetings.append(greeting)
            handshake.require_scopes(address.url, greeting, handshake.REQUIRED_SCOPES)
            return greeting

        check.run("connect", timeouts.connect, connect,
                          lambda h: f"protocol {h.protocol}, OpenClaw {h.server_version or '?'}, "
                                    f"{len(h.methods)} methods")

        def read(budget: float) -> Any:
            wire.send_request(live, address.url, "check-read", READ_METHOD, {})
            return wire.await_response(live, url=address.url, request_id="check-read", method=READ_METHOD,
                                       deadline=time.monotonic() + budget, timeout=budget,
                                       device_id=identity.device_id, on_event=ignore)

        config = check.run("read", timeouts.read, read, lambda _: f"{READ_METHOD} answered")
        config_version = _config_version(config)
    except _Failed:
        pass
    finally:
        if ws is not None:
            ws.close()
        elif sock is not None:
            sock.close()

    failed = next((stage.name for stage in check.stages if not stage.ok), None)
    hello = greetings[0] if greetings else None
    return CheckReport(
        ok=failed is None,
        stages=tuple(check.stages),
        failed_stage=failed,
        checked_at=checked_at,
        server_version=hello.server_version if hello else None,
        protocol=hello.protocol if hello else None,
        methods=hello.methods if hello else frozenset(),
        granted_scopes=hello.scopes if hello else frozenset(),
        config_version=config_version,
    )
