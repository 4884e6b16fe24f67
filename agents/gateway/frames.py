"""The three JSON frames of the gateway protocol: a request we send, and the response
or event the gateway sends back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TICK = "tick"
SHUTDOWN = "shutdown"
CHALLENGE = "connect.challenge"


class MalformedFrame(ValueError):
    """A text the gateway sent that is not one of its frames."""


@dataclass(frozen=True)
class Response:
    id: str
    ok: bool
    payload: Any = None
    error: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayEvent:
    name: str
    payload: Any = None
    # Counts events per connection from 1; a gap means the gateway dropped some.
    seq: int | None = None


@dataclass(frozen=True)
class ShutdownNotice:
    """What the ``shutdown`` event said before a 1012 close, which is the same code for a
    restart and for a stop."""

    reason: str
    restart_expected_ms: int | None = None

    @property
    def is_restart(self) -> bool:
        return self.restart_expected_ms is not None or "restart" in self.reason.lower()

    @classmethod
    def from_payload(cls, payload: Any) -> ShutdownNotice:
        data = payload if isinstance(payload, Mapping) else {}
        expected = data.get("restartExpectedMs")
        return cls(
            reason=str(data.get("reason") or ""),
            restart_expected_ms=int(expected) if isinstance(expected, int | float) else None,
        )


def encode_request(request_id: str, method: str, params: Mapping[str, Any] | None) -> str:
    frame: dict[str, Any] = {"type": "req", "id": request_id, "method": method}
    if params is not None:
        frame["params"] = dict(params)
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def decode_frame(text: str | bytes) -> Response | GatewayEvent:
    try:
        frame = json.loads(text)
    except ValueError as bad_json:
        raise MalformedFrame("not JSON") from bad_json
    if not isinstance(frame, dict):
        raise MalformedFrame("not a JSON object")
    kind = frame.get("type")
    if kind == "res" and isinstance(frame.get("id"), str):
        error = frame.get("error")
        return Response(
            id=frame["id"],
            ok=frame.get("ok") is True,
            payload=frame.get("payload"),
            error=error if isinstance(error, dict) else {},
        )
    if kind == "event" and isinstance(frame.get("event"), str):
        seq = frame.get("seq")
        return GatewayEvent(
            name=frame["event"], payload=frame.get("payload"), seq=seq if isinstance(seq, int) else None
        )
    raise MalformedFrame(f"unknown frame type {kind!r}")
