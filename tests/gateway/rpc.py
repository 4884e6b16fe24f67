"""A small operator connection to an OpenClaw gateway, for tests: the server's challenge,
our ``connect`` with the shared token, then requests answered by id. Events that arrive
in between are kept in order, not interpreted. The frames are the ones
``agents/gateway/client.py`` speaks."""

from __future__ import annotations

import itertools
import json
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

# 2026.9.6 accepts only protocol 4 from operators, 2026.4.29 only 3: one range serves both,
# and hello-ok says which one was chosen.
MIN_PROTOCOL, MAX_PROTOCOL = 3, 4
OPERATOR_SCOPES = ("operator.admin", "operator.read", "operator.write", "operator.approvals",
                   "operator.pairing")
# gateway-client/backend from loopback with the shared token is the backend path: no
# device identity, no pairing, the requested scopes granted.
CLIENT = {"id": "gateway-client", "version": "0.0.0-tests", "platform": "linux", "mode": "backend"}


class GatewayCallError(Exception):
    """A ``res`` frame with ``ok: false``; ``code`` is e.g. INVALID_REQUEST or UNAVAILABLE."""

    def __init__(self, method: str, error: dict[str, Any]) -> None:
        self.method = method
        self.code: str = error.get("code", "")
        self.message: str = error.get("message", "")
        self.details: dict[str, Any] = error.get("details") or {}
        self.retryable: bool = bool(error.get("retryable"))
        super().__init__(f"{method}: {self.code} {self.message}")


class GatewayConnection:
    def __init__(self, websocket: ClientConnection, hello: dict[str, Any], events: list[dict[str, Any]]) -> None:
        self.websocket = websocket
        self.hello = hello  # the hello-ok payload: protocol, server.version, features, snapshot, ...
        self.events = events
        self._ids = itertools.count(1)

    @property
    def protocol(self) -> int:
        return int(self.hello["protocol"])

    def call(self, method: str, params: dict[str, Any] | None = None, *, timeout: float = 30.0) -> dict[str, Any]:
        """The payload of ``method``'s answer; GatewayCallError when it says ``ok: false``."""
        request_id = f"r{next(self._ids)}"
        frame: dict[str, Any] = {"type": "req", "id": request_id, "method": method}
        if params is not None:
            frame["params"] = params
        self.websocket.send(json.dumps(frame))
        response = _read_response(self.websocket, request_id, self.events, timeout)
        if not response.get("ok"):
            raise GatewayCallError(method, response.get("error") or {})
        return response.get("payload") or {}

    def close(self) -> None:
        self.websocket.close()

    def __enter__(self) -> GatewayConnection:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def open_connection(url: str, token: str, *, timeout: float = 10.0,
                    scopes: tuple[str, ...] = OPERATOR_SCOPES) -> GatewayConnection:
    """Connect as an operator and return once hello-ok arrived. A gateway that is still
    starting answers UNAVAILABLE ("gateway starting") and closes: GatewayCallError with
    ``retryable`` set. Connection errors (refused, HTTP 503 during a restart) propagate."""
    from websockets.sync.client import connect

    # proxy=None: the gateway is on loopback; a developer's HTTPS_PROXY must not carry it.
    # Entered as a context manager: websockets 17 warns about a connection used without.
    websocket = connect(url, open_timeout=timeout, close_timeout=2, max_size=None, proxy=None).__enter__()
    try:
        events: list[dict[str, Any]] = []
        challenge = json.loads(websocket.recv(timeout=timeout))
        if challenge.get("event") != "connect.challenge":
            raise ConnectionError(f"expected connect.challenge first, got {challenge!r:.200}")
        websocket.send(json.dumps({"type": "req", "id": "connect", "method": "connect", "params": {
            "minProtocol": MIN_PROTOCOL, "maxProtocol": MAX_PROTOCOL, "client": CLIENT,
            "role": "operator", "scopes": list(scopes), "auth": {"token": token},
        }}))
        response = _read_response(websocket, "connect", events, timeout)
        if not response.get("ok"):
            raise GatewayCallError("connect", response.get("error") or {})
        return GatewayConnection(websocket, response["payload"], events)
    except BaseException:
        websocket.close()
        raise


def _read_response(websocket: ClientConnection, request_id: str, events: list[dict[str, Any]],
                   timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no answer to request {request_id!r} within {timeout} s")
        frame = json.loads(websocket.recv(timeout=remaining))
        if frame.get("type") == "res" and frame.get("id") == request_id:
            return frame
        if frame.get("type") == "event":
            events.append(frame)
