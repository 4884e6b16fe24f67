"""Slow clients against gunicorn reached directly, with the settings we ship.

Clients that send their headers or body a byte at a time get ``GUNICORN_READ_TIMEOUT``
seconds (3) from the moment a worker takes them, then the connection is dropped; other
requests wait at most that long per slow client ahead of them, not gunicorn's 30 s
``timeout``.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from pathlib import Path

import pytest

from ops.gunicorn_worker import DEFAULT_READ_TIMEOUT_SECONDS
from tests.ops import servers

pytestmark = pytest.mark.slow

PORT = servers.port(18116)

SLOW_HEADERS = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 4000
SLOW_BODY = (b"POST /api/v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
             b"Content-Length: 50000\r\n\r\n" + b"b" * 50000)


def slow_client(port: int, data: bytes, dropped: list[float], started: float, give_up: float) -> None:
    """Send ``data`` a byte every 50 ms until the server drops the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for index in range(len(data)):
            if time.monotonic() > give_up:
                return
            try:
                sock.send(data[index:index + 1])
            except OSError:
                dropped.append(time.monotonic() - started)
                return
            time.sleep(0.05)


def test_slow_clients_hold_a_worker_for_seconds_not_for_the_worker_timeout(tmp_path: Path):
    read_timeout = DEFAULT_READ_TIMEOUT_SECONDS
    with servers.gunicorn(PORT, {"LOG_LEVEL": "INFO"}, workers=2, tmp_path=tmp_path):
        started = time.monotonic()
        give_up = started + 20
        dropped: list[float] = []
        # Three slow clients for two workers: the third waits for a worker, then gets its own deadline.
        clients = [threading.Thread(target=slow_client, args=(PORT, data, dropped, started, give_up), daemon=True)
                   for data in (SLOW_HEADERS, SLOW_BODY, SLOW_HEADERS)]
        for client in clients:
            client.start()
        time.sleep(0.3)

        waits = []
        while time.monotonic() - started < 2 * read_timeout + 2:
            asked = time.monotonic()
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=15)
            connection.request("GET", "/healthz")
            assert connection.getresponse().status == 200
            connection.close()
            waits.append(time.monotonic() - asked)
            time.sleep(0.2)
        for client in clients:
            client.join(timeout=5)
        log = (tmp_path / f"gunicorn-{PORT}.log").read_text(errors="replace")

    assert len(dropped) == 3, (dropped, log[-2000:])
    # Each slow client was cut off once it had used up its read time, waiting included.
    assert max(dropped) < 2 * read_timeout + 1.5, dropped
    # Nobody waited for gunicorn's timeout (30 s): at most the read time of the slow
    # clients ahead of them, and nothing once they are gone.
    assert max(waits) < 2 * read_timeout + 1.0, waits
    assert max(waits[-3:]) < 1.0, waits
    assert "Traceback" not in log, log[-3000:]
    assert "WORKER TIMEOUT" not in log
