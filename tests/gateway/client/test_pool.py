"""The per-process pool: one client per gateway, replaced when what it connects with changes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from agents.gateway import pool
from agents.gateway.identity import DeviceIdentity
from tests.gateway.client.conftest import FAST_RETRY, endpoint_of
from tests.gateway.fake_gateway import FakeGateway


@pytest.fixture(autouse=True)
def empty_pool() -> Iterator[None]:
    pool.close_all()
    yield
    pool.close_all()


def test_one_gateway_key_gets_the_same_live_client(gateway, identity):
    first = pool.client_for("gw-1", endpoint_of(gateway), identity, retry=FAST_RETRY)
    first.call("health")
    again = pool.client_for("gw-1", endpoint_of(gateway), identity)
    assert again is first
    again.call("agents.list")
    assert len(gateway.connections) == 1


def test_two_keys_get_two_clients(gateway, identity):
    assert pool.client_for("gw-1", endpoint_of(gateway), identity) is not \
        pool.client_for("gw-2", endpoint_of(gateway), identity)


@pytest.mark.parametrize("change", [{"token": "rotated"}, {"allow_insecure_tls": True}, {"url": "ws://127.0.0.2:1"}])
def test_a_changed_endpoint_closes_the_old_client_and_makes_a_new_one(gateway, identity, change):
    old = pool.client_for("gw-1", endpoint_of(gateway), identity)
    old.call("health")
    new = pool.client_for("gw-1", endpoint_of(gateway, **change), identity)
    assert new is not old and old.closed and not new.closed


def test_a_new_device_identity_makes_a_new_client(gateway, identity):
    old = pool.client_for("gw-1", endpoint_of(gateway), identity)
    assert pool.client_for("gw-1", endpoint_of(gateway), DeviceIdentity.generate()) is not old


def test_a_client_whose_connection_died_reconnects_on_its_next_call(identity):
    with FakeGateway() as gateway:
        client = pool.client_for("gw-1", endpoint_of(gateway), identity, retry=FAST_RETRY)
        client.call("health")
        gateway.restart()
        assert pool.client_for("gw-1", endpoint_of(gateway), identity) is client
        assert client.call("status")["runtimeVersion"] == gateway.version
    # The first, the one refused while "starting" after the restart, and the new one.
    assert [c.outcome for c in gateway.connections] == ["hello", "UNAVAILABLE", "hello"]


def test_a_closed_client_is_replaced(gateway, identity):
    old = pool.client_for("gw-1", endpoint_of(gateway), identity)
    old.close()
    assert pool.client_for("gw-1", endpoint_of(gateway), identity) is not old


def test_threads_asking_at_once_share_one_client(gateway, identity):
    found = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        found.append(pool.client_for("gw-1", endpoint_of(gateway), identity))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(client) for client in found}) == 1


def test_close_all_closes_every_client_and_discard_one(gateway, identity):
    first = pool.client_for("gw-1", endpoint_of(gateway), identity)
    second = pool.client_for("gw-2", endpoint_of(gateway), identity)
    pool.discard("gw-1")
    assert first.closed and not second.closed
    pool.close_all()
    assert second.closed
