"""Opening a WebSocket to a gateway one step at a time: resolve the host, connect TCP,
do TLS for wss, then the HTTP upgrade.

We do the steps ourselves and hand the finished socket to websockets with a ws:// URI,
so the staged check can time each step and every failure names the step it happened
in. The client opens its connections the same way, so a check that passes means the
client can connect.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from agents.gateway.errors import GatewayTimeout, GatewayUnreachable, InvalidGatewayUrl

# hello-ok is ~100 KB and config.schema ~2 MB on 2026.9.6; the gateway's own frame limit
# (policy.maxPayload) is 25 MiB.
MAX_FRAME_BYTES = 32 * 1024 * 1024
# Frames wait here between calls (see client.py). When the buffer is full websockets stops
# reading the socket, pongs go unread and the keepalive closes the connection, so leave
# room for hours of ticks and health events.
MAX_BUFFERED_FRAMES = 1024

AddressInfo = tuple[Any, ...]


@dataclass(frozen=True)
class GatewayAddress:
    url: str
    secure: bool
    host: str
    port: int
    resource: str

    @property
    def where(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def plain_uri(self) -> str:
        """The ws:// URI websockets gets with our socket (TLS, if any, is already done)."""
        return f"ws://{self.where}{self.resource}"


def parse_gateway_url(url: str) -> GatewayAddress:
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise InvalidGatewayUrl(url, "is not a valid URL") from error
    if parts.scheme not in ("ws", "wss"):
        raise InvalidGatewayUrl(url, "must start with ws:// or wss://")
    if not parts.hostname:
        raise InvalidGatewayUrl(url, "has no host")
    if parts.username or parts.password:
        raise InvalidGatewayUrl(url, "must not carry credentials; the token has its own field")
    secure = parts.scheme == "wss"
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return GatewayAddress(url=url.strip(), secure=secure, host=parts.hostname,
                          port=port or (443 if secure else 80), resource=resource)


def resolve(address: GatewayAddress, timeout: float) -> list[AddressInfo]:
    """getaddrinfo, which has no timeout of its own, bounded by running it in a thread."""
    outcome: list[Any] = []

    def lookup() -> None:
        try:
            outcome.append(socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM))
        except OSError as error:
            outcome.append(error)

    # A lookup that hangs past the timeout is abandoned; the daemon thread ends with it.
    worker = threading.Thread(target=lookup, name="gateway-resolve", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise GatewayTimeout(address.url, "resolve", timeout)
    result = outcome[0]
    if isinstance(result, socket.gaierror):
        temporary = result.errno == socket.EAI_AGAIN
        raise GatewayUnreachable.unresolvable(address.url, address.host, temporary=temporary,
                                              detail=str(result)) from result
    if isinstance(result, OSError):
        raise GatewayUnreachable.unresolvable(address.url, address.host, temporary=True,
                                              detail=str(result)) from result
    infos: list[AddressInfo] = result
    if not infos:
        raise GatewayUnreachable.unresolvable(address.url, address.host, temporary=False)
    return infos


def open_tcp(address: GatewayAddress, infos: list[AddressInfo], timeout: float) -> socket.socket:
    """Tries each resolved address in turn (IPv6 and IPv4 for ``localhost``) within ``timeout``."""
    last: OSError | None = None
    for family, kind, proto, _name, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
        except OSError as error:
            sock.close()
            last = error
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        return sock
    if isinstance(last, TimeoutError):
        raise GatewayTimeout(address.url, "tcp", timeout) from last
    errno_name = errno.errorcode.get(last.errno or 0) if last is not None else None
    raise GatewayUnreachable.refused(address.url, address.where, errno_name, detail=str(last)) from last


def tls_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        # The operator's explicit choice for self-signed gateway certificates
        # (gateway.tls.autoGenerate makes one with no SAN, so nothing could verify it).
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def start_tls(sock: socket.socket, address: GatewayAddress, *, verify: bool, timeout: float) -> ssl.SSLSocket:
    sock.settimeout(timeout)
    try:
        wrapped = tls_context(verify).wrap_socket(sock, server_hostname=address.host)
    except ssl.SSLCertVerificationError as error:
        sock.close()
        raise GatewayUnreachable.tls_failed(address.url, address.where, certificate=True, plain=False,
                                            detail=str(error)) from error
    except ssl.SSLError as error:
        sock.close()
        # An HTTP server answering a ClientHello sends text, which OpenSSL reads as a bad
        # record; a WebSocket server that cannot parse it as HTTP just hangs up (EOF).
        plain = isinstance(error, ssl.SSLEOFError) or error.reason in (
            "WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG")
        raise GatewayUnreachable.tls_failed(address.url, address.where, certificate=False, plain=plain,
                                            detail=str(error)) from error
    except TimeoutError as error:
        sock.close()
        raise GatewayTimeout(address.url, "tls", timeout) from error
    except OSError as error:
        sock.close()
        # The peer hung up on our ClientHello: not a TLS server either.
        raise GatewayUnreachable.tls_failed(address.url, address.where, certificate=False, plain=True,
                                            detail=str(error)) from error
    return wrapped


def upgrade(sock: socket.socket, address: GatewayAddress, timeout: float) -> ClientConnection:
    """The HTTP upgrade over ``sock``; the connection is ours to close."""
    sock.settimeout(None)
    try:
        return connect(
            address.plain_uri,
            sock=sock,
            open_timeout=timeout,
            max_size=MAX_FRAME_BYTES,
            max_queue=MAX_BUFFERED_FRAMES,
            # A busy gateway can leave pongs unanswered for a while (2026.4.29 blocked ~20 s
            # reloading plugins after a restart); like the official client, wait out two
            # tick intervals (60 s) before calling the connection dead.
            ping_interval=30,
            ping_timeout=60,
            close_timeout=2,
            legacy=True,
        )
    except InvalidStatus as error:
        sock.close()
        raise GatewayUnreachable.upgrade_refused(address.url, error.response.status_code,
                                                 detail=str(error)) from error
    except TimeoutError as error:
        sock.close()
        raise GatewayTimeout(address.url, "upgrade", timeout) from error
    except (InvalidHandshake, OSError, EOFError) as error:
        sock.close()
        raise GatewayUnreachable.upgrade_refused(address.url, _http_status(error), detail=str(error)) from error
    except ConnectionClosed as error:
        # The connection ended before the upgrade's answer: for one, the TLS layer failing
        # to write the request (the library reads and writes one TLS socket from two threads).
        sock.close()
        raise GatewayUnreachable.upgrade_dropped(address.url, detail=str(error)) from error


# websockets only parses HTTP/1.1; an HTTP/1.0 answer (Python's http.server, some proxies)
# comes back as a parse error quoting the status line, which still says what answered.
_STATUS_LINE = re.compile(r"HTTP/1\.[01] ([1-5]\d\d)\b")


def _http_status(error: BaseException) -> int | None:
    for cause in (error, error.__cause__):
        found = _STATUS_LINE.search(str(cause)) if cause is not None else None
        if found:
            return int(found[1])
    return None


def open_websocket(address: GatewayAddress, *, verify_tls: bool, deadline: float) -> ClientConnection:
    """All four steps within ``deadline`` (``time.monotonic``); each gets what is left."""
    budget = deadline - time.monotonic()

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        return remaining

    stage = "resolve"
    try:
        infos = resolve(address, left())
        stage = "tcp"
        sock: socket.socket = open_tcp(address, infos, left())
        if address.secure:
            stage = "tls"
            sock = start_tls(sock, address, verify=verify_tls, timeout=left())
        stage = "upgrade"
        return upgrade(sock, address, left())
    except TimeoutError as error:
        # Only the budget running out between two steps lands here; each step reports its own.
        raise GatewayTimeout(address.url, stage, round(max(budget, 0.0), 3)) from error
