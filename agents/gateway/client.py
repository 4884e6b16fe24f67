"""One live connection to one gateway, usable from any thread of a WSGI process or a worker.

There is no reader thread: frames that arrive between calls wait in websockets' buffer
and are read, and their events dispatched, at the start of the next call (or by
``poll``). Calls on one client take turns. Every read has a deadline.

A connection lost while a call waits is repaired by reconnecting with backoff, and the
call is sent again only if that is safe (``retry.is_safe_to_repeat``); an unsafe write
raises ``ConnectionLost`` naming it, so the caller re-reads before deciding.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from websockets.protocol import State
from websockets.sync.client import ClientConnection

from agents.gateway import handshake, transport, wire
from agents.gateway.counters import COUNTERS, GatewayCounters
from agents.gateway.errors import (
    ConnectionLost,
    GatewayError,
    GatewayStarting,
    GatewayTimeout,
    GatewayUnreachable,
    UnexpectedFrame,
)
from agents.gateway.frames import SHUTDOWN, TICK, GatewayEvent, Response, ShutdownNotice
from agents.gateway.handshake import Hello
from agents.gateway.identity import DeviceIdentity
from agents.gateway.retry import RetryPolicy, is_safe_to_repeat

logger = logging.getLogger(__name__)

EventCallback = Callable[[GatewayEvent], None]


@dataclass(frozen=True)
class GatewayEndpoint:
    url: str
    token: str = field(repr=False)
    allow_insecure_tls: bool = False


@dataclass(frozen=True)
class ClientTimeouts:
    """Seconds. ``connect`` bounds everything from DNS to hello-ok; ``call`` is the default
    wait for one answer."""

    connect: float = 10.0
    call: float = 15.0


def app_version() -> str:
    from django.conf import settings

    return str(getattr(settings, "APP_VERSION", "0")) if settings.configured else "0"


def _is_connection_problem(error: GatewayError) -> bool:
    """Failures that a new connection may cure, as opposed to refusals and slow answers."""
    if isinstance(error, ConnectionLost | GatewayStarting):
        return True
    if isinstance(error, GatewayUnreachable):
        return error.retryable
    return isinstance(error, GatewayTimeout) and error.stage != "call"


class GatewayClient:
    def __init__(
        self,
        endpoint: GatewayEndpoint,
        identity: DeviceIdentity,
        *,
        timeouts: ClientTimeouts | None = None,
        retry: RetryPolicy | None = None,
        required_scopes: Collection[str] = handshake.REQUIRED_SCOPES,
        client_version: str | None = None,
        counters: GatewayCounters = COUNTERS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = endpoint
        self.identity = identity
        self.timeouts = timeouts or ClientTimeouts()
        self.retry = retry or RetryPolicy()
        self.required_scopes = tuple(required_scopes)
        self.client_version = client_version or app_version()
        self.counters = counters
        self._sleep = sleep
        self._address = transport.parse_gateway_url(endpoint.url)
        self._lock = threading.RLock()
        self._ws: ClientConnection | None = None
        self._hello: Hello | None = None
        self._subscribers: list[EventCallback] = []
        self._request_ids = itertools.count(1)
        self._last_seq: int | None = None
        self._closed = False
        # What the gateway announced before it goes: set by a shutdown event.
        self.going_away: ShutdownNotice | None = None
        # time.monotonic() of the last tick read; ticks come every policy.tickIntervalMs.
        self.last_tick_at: float | None = None

    # --- state ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._address.url

    @property
    def hello(self) -> Hello | None:
        return self._hello

    @property
    def connected(self) -> bool:
        ws = self._ws
        return ws is not None and ws.protocol.state is State.OPEN

    @property
    def closed(self) -> bool:
        """True once ``close`` was called; a closed client never reconnects."""
        return self._closed

    # --- events ------------------------------------------------------------------------

    def subscribe(self, callback: EventCallback) -> Callable[[], None]:
        """Calls ``callback`` with every event read from now on; returns the unsubscribe."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _dispatch(self, event: GatewayEvent) -> None:
        missed = 0
        if event.seq is not None:
            if self._last_seq is not None and event.seq > self._last_seq + 1:
                missed = event.seq - self._last_seq - 1
                logger.warning("gateway %s skipped %d event(s) before seq %d", self.url, missed, event.seq)
            self._last_seq = event.seq
        self.counters.event_received(missed)
        if event.name == TICK:
            self.last_tick_at = time.monotonic()
        elif event.name == SHUTDOWN:
            self.going_away = ShutdownNotice.from_payload(event.payload)
            logger.info("gateway %s is going away: %s", self.url, self.going_away.reason)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                # A subscriber's bug must not fail the call that happened to read its event.
                logger.exception("gateway event subscriber failed on %s", event.name)

    def _late(self, response: Response) -> None:
        logger.info("gateway %s answered request %s after its call gave up", self.url, response.id)

    def poll(self, timeout: float = 0.0) -> int:
        """Reads and dispatches the frames that arrived, waiting up to ``timeout`` seconds
        for the first one; returns how many were read. Does not connect."""
        with self._lock:
            ws = self._ws
            if ws is None:
                return 0
            try:
                count = 0
                if timeout > 0:
                    try:
                        frame = wire.read_frame(ws, self.url, timeout)
                    except TimeoutError:
                        return 0
                    except UnexpectedFrame as odd:
                        logger.warning("%s; frame skipped", odd.sentence)
                    else:
                        if isinstance(frame, GatewayEvent):
                            self._dispatch(frame)
                        else:
                            self._late(frame)
                    count = 1
                return count + wire.drain(ws, self.url, self._dispatch, self._late)
            except ConnectionLost:
                self._drop_connection()
                return 0

    # --- connection --------------------------------------------------------------------

    def connect(self) -> Hello:
        """Opens the connection if it is not open; retries what a new attempt may cure."""
        with self._lock:
            for attempt in itertools.count(1):
                try:
                    return self._ensure_open()
                except GatewayError as error:
                    if not _is_connection_problem(error) or attempt >= self.retry.attempts:
                        raise
                    self._pause(attempt, error)
            raise AssertionError("unreachable")

    def _ensure_open(self) -> Hello:
        if self._closed:
            raise RuntimeError("this gateway client was closed; get a new one from the pool")
        if self.connected and self._hello is not None:
            return self._hello
        self._drop_connection()
        # One budget from DNS to hello-ok: each step gets what the ones before it left.
        deadline = time.monotonic() + self.timeouts.connect

        def left() -> float:
            return max(deadline - time.monotonic(), 0.001)

        ws = transport.open_websocket(self._address, verify_tls=not self.endpoint.allow_insecure_tls,
                                      deadline=deadline)
        self.counters.connection_opened()
        try:
            challenge = handshake.await_challenge(ws, self.url, left())
            params = handshake.connect_params(challenge, token=self.endpoint.token, identity=self.identity,
                                              client_version=self.client_version)
            self._last_seq = None
            hello = handshake.exchange_connect(ws, url=self.url, params=params,
                                               device_id=self.identity.device_id, timeout=left(),
                                               on_event=self._dispatch)
            handshake.require_scopes(self.url, hello, self.required_scopes)
        except BaseException:
            ws.close()
            raise
        self._ws, self._hello = ws, hello
        self.going_away = None
        logger.debug("connected to gateway %s (protocol %s, %s)", self.url, hello.protocol, hello.server_version)
        return hello

    def _drop_connection(self) -> None:
        ws, self._ws, self._hello = self._ws, None, None
        if ws is None:
            return
        # Frames buffered before the close still count: a shutdown event says why it closed.
        try:
            wire.drain(ws, self.url, self._dispatch, self._late)
        except GatewayError:
            pass  # the drain ends at the close
        ws.close()

    def _pause(self, attempt: int, error: GatewayError) -> None:
        wait = self.retry.delay(attempt, error.retry_after)
        logger.info("gateway %s: %s; trying again in %.2f s", self.url, error.code, wait)
        self._sleep(wait)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._drop_connection()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # --- calls -------------------------------------------------------------------------

    def call(self, method: str, params: Mapping[str, Any] | None = None, timeout: float | None = None) -> Any:
        """The payload of ``method``'s answer; a refusal raises a ``GatewayError``."""
        wait = self.timeouts.call if timeout is None else timeout
        repeatable = is_safe_to_repeat(method, params)
        with self._lock:
            for attempt in itertools.count(1):
                sent = False
                try:
                    self._ensure_open()
                    ws = self._ws
                    assert ws is not None
                    # What came since the last call: events to dispatch, and a close the
                    # gateway announced, found now rather than after sending into it.
                    wire.drain(ws, self.url, self._dispatch, self._late)
                    request_id = f"mc-{next(self._request_ids)}"
                    wire.send_request(ws, self.url, request_id, method, params)
                    sent = True
                    self.counters.rpc_sent(method)
                    return wire.await_response(
                        ws, url=self.url, request_id=request_id, method=method,
                        deadline=time.monotonic() + wait, timeout=wait,
                        device_id=self.identity.device_id, on_event=self._dispatch, on_late=self._late,
                    )
                except ConnectionLost as lost:
                    self._drop_connection()
                    lost = lost.again(shutdown=self.going_away)
                    if sent and not repeatable:
                        raise lost.again(in_flight=method) from None
                    if attempt >= self.retry.attempts:
                        raise lost from None
                    self._pause(attempt, lost)
                except GatewayError as error:
                    if not _is_connection_problem(error) or attempt >= self.retry.attempts:
                        raise
                    self._pause(attempt, error)
            raise AssertionError("unreachable")
