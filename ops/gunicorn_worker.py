"""gunicorn's sync worker with a deadline for reading each request.

A sync worker serves one connection at a time and reads it with a blocking socket that
has no timeout: a client that sends its headers or body a byte at a time holds the
worker for as long as it likes. gunicorn's own ``timeout`` is the only bound (the
master kills a worker that has been busy that long), so two or three such clients stop
a small server for ``timeout`` seconds each time. This worker gives the whole request,
request line, headers and body, ``GUNICORN_READ_TIMEOUT`` seconds from the moment the
connection is accepted; after that every read fails and the connection is dropped.
Answering is not limited: a slow view still has ``timeout``.

nginx in front (the Compose stack, docs/deployment.md) buffers whole requests before it
passes them on, so behind it this deadline is never reached.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from gunicorn.http.errors import NoMoreData
from gunicorn.workers import sync

DEFAULT_READ_TIMEOUT_SECONDS = 3.0


def read_timeout() -> float:
    return float(os.environ.get("GUNICORN_READ_TIMEOUT") or DEFAULT_READ_TIMEOUT_SECONDS)


class RequestReadTimeout(NoMoreData):
    """The client did not send its request in time. A ``NoMoreData`` so that gunicorn
    treats it like a client gone mid-request: the connection closes, with no traceback."""

    def __str__(self) -> str:
        return "The client did not send the whole request in time."


class DeadlineSocket:
    """A client socket whose reads all end at one deadline."""

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self._sock = sock
        self._deadline = time.monotonic() + seconds

    def recv(self, size: int, *flags: int) -> bytes:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise RequestReadTimeout()
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(size, *flags)
        except TimeoutError:
            raise RequestReadTimeout() from None
        finally:
            # Writing the answer is not bound by the read deadline.
            self._sock.settimeout(None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class SyncWorker(sync.SyncWorker):
    def handle(self, listener: Any, client: socket.socket, addr: Any) -> None:
        super().handle(listener, DeadlineSocket(client, read_timeout()), addr)
