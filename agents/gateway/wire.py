"""Requests and answers over one open WebSocket: send a request, read until its answer,
hand every event read on the way to the caller, and drain what arrived in between.

Nothing here retries or reconnects; that is the client's decision.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from agents.gateway.errors import ConnectionLost, GatewayTimeout, UnexpectedFrame, refusal_from
from agents.gateway.frames import (
    GatewayEvent,
    MalformedFrame,
    Response,
    decode_frame,
    encode_request,
)

logger = logging.getLogger(__name__)

EventSink = Callable[[GatewayEvent], None]
# Called with answers to requests nobody waits for any more (their call timed out).
LateSink = Callable[[Response], None]


def _ignore_late(response: Response) -> None:
    logger.debug("gateway answered request %s after its caller stopped waiting", response.id)


def _skip(odd: UnexpectedFrame) -> None:
    # After hello a frame we cannot read (a newer gateway's frame type?) should not fail
    # the call that happened to read it; it is logged where someone will see it.
    logger.warning("%s; frame skipped", odd.sentence)


def lost(url: str, closed: ConnectionClosed) -> ConnectionLost:
    frame = closed.rcvd
    return ConnectionLost(url, frame.code if frame else None, frame.reason if frame else "")


def read_frame(ws: ClientConnection, url: str, timeout: float) -> Response | GatewayEvent:
    """One frame within ``timeout`` seconds (0: only one already buffered). ``TimeoutError``
    when none came; ``ConnectionLost`` when the connection ended."""
    try:
        text = ws.recv(timeout=max(timeout, 0))
    except ConnectionClosed as closed:
        raise lost(url, closed) from closed
    try:
        return decode_frame(text)
    except MalformedFrame as error:
        raise UnexpectedFrame(url, f"it sent a frame that is {error}") from error


def send_request(ws: ClientConnection, url: str, request_id: str, method: str,
                 params: Mapping[str, Any] | None) -> None:
    try:
        ws.send(encode_request(request_id, method, params))
    except ConnectionClosed as closed:
        raise lost(url, closed) from closed


def await_response(
    ws: ClientConnection,
    *,
    url: str,
    request_id: str,
    method: str,
    deadline: float,
    timeout: float,
    device_id: str,
    on_event: EventSink,
    on_late: LateSink = _ignore_late,
) -> Any:
    """The payload of the answer to ``request_id``; a refusal raises its ``GatewayError``.
    ``deadline`` is on the ``time.monotonic`` clock; ``timeout`` is only quoted in the error."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise GatewayTimeout(url, "connect" if method == "connect" else "call", timeout, method)
        try:
            frame = read_frame(ws, url, remaining)
        except TimeoutError:
            continue
        except UnexpectedFrame as odd:
            _skip(odd)
            continue
        if isinstance(frame, GatewayEvent):
            on_event(frame)
        elif frame.id != request_id:
            on_late(frame)
        elif frame.ok:
            return frame.payload
        else:
            raise refusal_from(frame.error, method=method, url=url, device_id=device_id)


def drain(ws: ClientConnection, url: str, on_event: EventSink, on_late: LateSink = _ignore_late) -> int:
    """Dispatches every frame already buffered; returns how many there were."""
    count = 0
    while True:
        try:
            frame = read_frame(ws, url, 0)
        except TimeoutError:
            return count
        except UnexpectedFrame as odd:
            _skip(odd)
            continue
        count += 1
        if isinstance(frame, GatewayEvent):
            on_event(frame)
        else:
            on_late(frame)
