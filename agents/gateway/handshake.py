"""The opening of a gateway session: the gateway's challenge, our signed ``connect``,
and its ``hello-ok``.

The device proof signs a ``|``-joined line of the connect fields (payload v3, what the
official client sends and the gateway tries first). Mission Control connects as a
``gateway-client`` in ``backend`` mode with the operator role, offering protocols 3 (the
2026.4 releases) to 4 (2026.9 and later); the gateway picks one.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.sync.client import ClientConnection

from agents.gateway import wire
from agents.gateway.errors import (
    OUR_PROTOCOLS,
    ConnectionLost,
    GatewayTimeout,
    MissingScope,
    UnexpectedFrame,
    closed_before_answer,
)
from agents.gateway.frames import CHALLENGE, GatewayEvent
from agents.gateway.identity import DeviceIdentity

CLIENT_ID = "gateway-client"
CLIENT_MODE = "backend"
ROLE = "operator"
OPERATOR_SCOPES = ("operator.admin", "operator.read", "operator.write", "operator.approvals",
                   "operator.pairing")
# What provisioning needs; a remote token-only connect is granted no scope and no error.
REQUIRED_SCOPES = ("operator.admin", "operator.write")
CONNECT_REQUEST_ID = "connect"


@dataclass(frozen=True)
class Challenge:
    nonce: str
    ts: int | None


@dataclass(frozen=True)
class Hello:
    protocol: int
    server_version: str
    methods: frozenset[str]
    events: frozenset[str]
    scopes: frozenset[str]
    tick_interval_ms: int | None = None
    # Issued once a device is paired; it can stand in for the shared token later.
    device_token: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


def normalized_meta(value: str | None) -> str:
    """How the gateway folds platform and device family into the signed line: trimmed,
    ASCII letters lower-cased and nothing else."""
    text = (value or "").strip()
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def proof_payload(
    *,
    device_id: str,
    scopes: Sequence[str],
    signed_at_ms: int,
    token: str,
    nonce: str,
    platform_name: str,
    device_family: str | None = None,
    client_id: str = CLIENT_ID,
    client_mode: str = CLIENT_MODE,
    role: str = ROLE,
) -> str:
    return "|".join([
        "v3", device_id, client_id, client_mode, role, ",".join(scopes), str(signed_at_ms), token, nonce,
        normalized_meta(platform_name), normalized_meta(device_family),
    ])


def this_platform() -> str:
    return platform.system().lower() or "unknown"


def connect_params(
    challenge: Challenge,
    *,
    token: str,
    identity: DeviceIdentity,
    client_version: str,
    platform_name: str | None = None,
    scopes: Sequence[str] = OPERATOR_SCOPES,
) -> dict[str, Any]:
    platform_name = platform_name or this_platform()
    # The gateway accepts a signature within two minutes of its clock; its own timestamp
    # keeps us inside that window whatever this host's clock says.
    signed_at = challenge.ts if challenge.ts is not None else int(time.time() * 1000)
    payload = proof_payload(device_id=identity.device_id, scopes=scopes, signed_at_ms=signed_at,
                            token=token, nonce=challenge.nonce, platform_name=platform_name)
    return {
        "minProtocol": min(OUR_PROTOCOLS),
        "maxProtocol": max(OUR_PROTOCOLS),
        "client": {"id": CLIENT_ID, "version": client_version, "platform": platform_name, "mode": CLIENT_MODE},
        "role": ROLE,
        "scopes": list(scopes),
        "auth": {"token": token},
        "device": {
            "id": identity.device_id,
            "publicKey": identity.public_key,
            "signature": identity.sign(payload),
            "signedAt": signed_at,
            "nonce": challenge.nonce,
        },
    }


def parse_challenge(url: str, frame: object) -> Challenge:
    if not isinstance(frame, GatewayEvent) or frame.name != CHALLENGE:
        raise UnexpectedFrame(url, "its first frame was not a connect.challenge")
    payload = frame.payload if isinstance(frame.payload, Mapping) else {}
    nonce = payload.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise UnexpectedFrame(url, "its connect.challenge carried no nonce")
    ts = payload.get("ts")
    return Challenge(nonce=nonce, ts=int(ts) if isinstance(ts, int | float) else None)


def await_challenge(ws: ClientConnection, url: str, timeout: float) -> Challenge:
    try:
        frame = wire.read_frame(ws, url, timeout)
    except TimeoutError as error:
        raise GatewayTimeout(url, "challenge", timeout) from error
    except ConnectionLost as lost:
        raise closed_before_answer(url, lost.close_code, lost.close_reason) from lost
    return parse_challenge(url, frame)


def _section(payload: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = payload.get(name)
    return value if isinstance(value, Mapping) else {}


def _names(value: Any) -> frozenset[str]:
    return frozenset(item for item in value if isinstance(item, str)) if isinstance(value, list) else frozenset()


def parse_hello(url: str, payload: Any) -> Hello:
    if not isinstance(payload, Mapping) or not isinstance(payload.get("protocol"), int):
        raise UnexpectedFrame(url, "its answer to connect was not a hello-ok")
    server, features = _section(payload, "server"), _section(payload, "features")
    auth, policy = _section(payload, "auth"), _section(payload, "policy")
    tick = policy.get("tickIntervalMs")
    device_token = auth.get("deviceToken")
    return Hello(
        protocol=payload["protocol"],
        server_version=str(server.get("version") or ""),
        methods=_names(features.get("methods")),
        events=_names(features.get("events")),
        scopes=_names(auth.get("scopes")),
        tick_interval_ms=tick if isinstance(tick, int) else None,
        device_token=device_token if isinstance(device_token, str) else None,
        raw=payload,
    )


def exchange_connect(
    ws: ClientConnection,
    *,
    url: str,
    params: Mapping[str, Any],
    device_id: str,
    timeout: float,
    on_event: wire.EventSink,
) -> Hello:
    try:
        wire.send_request(ws, url, CONNECT_REQUEST_ID, "connect", params)
        payload = wire.await_response(ws, url=url, request_id=CONNECT_REQUEST_ID, method="connect",
                                      deadline=time.monotonic() + timeout, timeout=timeout,
                                      device_id=device_id, on_event=on_event)
    except ConnectionLost as lost:
        raise closed_before_answer(url, lost.close_code, lost.close_reason) from lost
    return parse_hello(url, payload)


def require_scopes(url: str, hello: Hello, required: Collection[str]) -> None:
    missing = [scope for scope in required if scope not in hello.scopes]
    if missing:
        raise MissingScope(url, missing)
