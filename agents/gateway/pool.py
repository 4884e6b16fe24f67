"""The one client per gateway in this process.

``client_for`` hands every caller of one gateway the same client, so a worker keeps
one connection per gateway instead of one per job. A changed URL, token, TLS flag or
device identity means a new client (and the old connection is closed); a connection
that died is reopened by the client itself on its next call.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from agents.gateway.client import GatewayClient, GatewayEndpoint
from agents.gateway.identity import DeviceIdentity

_lock = threading.Lock()
_clients: dict[str, GatewayClient] = {}
# A forked child must not share the parent's sockets: its pool starts empty.
_owner_pid = os.getpid()


def client_for(key: str, endpoint: GatewayEndpoint, identity: DeviceIdentity, **options: Any) -> GatewayClient:
    """The live client for gateway ``key`` (its id); ``options`` go to a new client only."""
    global _owner_pid
    stale: GatewayClient | None = None
    with _lock:
        if os.getpid() != _owner_pid:
            _clients.clear()
            _owner_pid = os.getpid()
        client = _clients.get(key)
        if client is not None and (client.closed or client.endpoint != endpoint
                                   or client.identity.device_id != identity.device_id):
            stale, client = client, None
        if client is None:
            client = GatewayClient(endpoint, identity, **options)
            _clients[key] = client
    if stale is not None:
        # Outside the pool lock: closing waits for a call the old client may be making.
        stale.close()
    return client


def discard(key: str) -> None:
    """Closes and forgets the client of ``key`` (the gateway was deleted)."""
    with _lock:
        client = _clients.pop(key, None)
    if client is not None:
        client.close()


def close_all() -> None:
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()
