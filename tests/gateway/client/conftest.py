"""Fixtures of the gateway tests: a device identity, a fake gateway, and clients with
timeouts and backoff small enough that the whole folder runs in seconds. None of these
tests touches the database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agents.gateway.client import ClientTimeouts, GatewayClient, GatewayEndpoint
from agents.gateway.counters import GatewayCounters
from agents.gateway.identity import DeviceIdentity
from agents.gateway.retry import RetryPolicy
from tests.gateway.fake_gateway import FakeGateway

FAST_RETRY = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.02, max_wait=0.2)
# Long enough for a loaded machine; tests of a timeout pass their own short ones.
FAST_TIMEOUTS = ClientTimeouts(connect=5.0, call=5.0)


@pytest.fixture(scope="session")
def identity() -> DeviceIdentity:
    return DeviceIdentity.generate()


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with FakeGateway() as fake:
        yield fake


def endpoint_of(fake: FakeGateway, **changes: Any) -> GatewayEndpoint:
    fields: dict[str, Any] = {"url": fake.url, "token": fake.token, **changes}
    return GatewayEndpoint(**fields)


def client_of(fake: FakeGateway, identity: DeviceIdentity, **options: Any) -> GatewayClient:
    endpoint = options.pop("endpoint", None) or endpoint_of(fake)
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("timeouts", FAST_TIMEOUTS)
    options.setdefault("counters", GatewayCounters())
    return GatewayClient(endpoint, identity, **options)


@pytest.fixture
def client(gateway: FakeGateway, identity: DeviceIdentity) -> Iterator[GatewayClient]:
    with client_of(gateway, identity) as connected:
        yield connected
