"""Fixtures for tests against real OpenClaw gateways (see real.py).

``openclaw_96`` and ``openclaw_429`` are the session's gateways of 2026.9.6 (protocol 4)
and 2026.4.29 (protocol 3); ``openclaw_gateway`` runs a test once with each. A gateway
starts when a test first asks for it, together with the other version if the session has
tests for it, and stops at the end of the session. Without the installed packages the tests
are skipped (``scripts/openclaw.sh install``), and fail instead when ``CI=true``.

Every test that uses one of them is marked ``openclaw`` and put in the xdist group of its
version ("openclaw-2026.9.6", "openclaw-2026.4.29"), so with ``pytest -n N --dist loadgroup``
each version's tests run in one worker, the two versions side by side, and each gateway
starts once, in the one worker that needs it. Without xdist the first request starts every
version the session wants, so they boot together.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.conftest import skip_or_fail
from tests.gateway.real import (
    OPENCLAW_96,
    OPENCLAW_429,
    VERSIONS,
    GatewayNotInstalled,
    GatewayPool,
    GatewayStartError,
    RealGateway,
)

FIXTURE_VERSIONS = {"openclaw_96": OPENCLAW_96, "openclaw_429": OPENCLAW_429}
WANTED_VERSIONS = pytest.StashKey[list[str]]()
SESSION_POOL = pytest.StashKey[GatewayPool]()


def versions_used_by(item: pytest.Item) -> list[str]:
    names = getattr(item, "fixturenames", ())
    versions = [version for name, version in FIXTURE_VERSIONS.items() if name in names]
    if "openclaw_gateway" in names:
        callspec = getattr(item, "callspec", None)
        version = callspec.params.get("openclaw_gateway") if callspec is not None else None
        versions.extend([version] if version else VERSIONS)
    return versions


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted: list[str] = []
    for item in items:
        versions = list(dict.fromkeys(versions_used_by(item)))
        if versions:
            item.add_marker(pytest.mark.openclaw)
            item.add_marker(pytest.mark.xdist_group(group_of_versions(versions)))
            wanted.extend(versions)
    # Under xdist a worker runs only some groups and starts only the versions it meets.
    config.stash[WANTED_VERSIONS] = [] if os.environ.get("PYTEST_XDIST_WORKER") else list(dict.fromkeys(wanted))


def group_of_versions(versions: list[str]) -> str:
    return "openclaw-" + "-".join(sorted(versions))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """How long each gateway took to answer hello-ok: start-up time is most of these tests' time."""
    pool = config.stash.get(SESSION_POOL, None)
    if pool is None:
        return
    for version, gateway in sorted(pool.ready.items()):
        terminalreporter.write_line(f"openclaw {version}: hello-ok {gateway.ready_after:.1f} s after launch (port {gateway.port})")
    for version, error in sorted(pool.failures.items()):
        terminalreporter.write_line(f"openclaw {version}: not started: {str(error).splitlines()[0]}")


@pytest.fixture(scope="session")
def openclaw_pool(request: pytest.FixtureRequest) -> Iterator[GatewayPool]:
    pool = GatewayPool(request.config.stash.get(WANTED_VERSIONS, list(VERSIONS)))
    request.config.stash[SESSION_POOL] = pool
    yield pool
    pool.stop_all()


def _gateway(pool: GatewayPool, version: str) -> RealGateway:
    try:
        return pool.get(version)
    except GatewayNotInstalled as error:
        skip_or_fail(f"needs the real OpenClaw {version}: {error}")
    except ImportError as error:
        # websockets is a dev dependency; a .venv installed from an older lock lacks it
        skip_or_fail(f"needs the websockets package to talk to the gateway ({error}); run scripts/bootstrap.sh")
    except GatewayStartError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def openclaw_96(openclaw_pool: GatewayPool) -> RealGateway:
    return _gateway(openclaw_pool, OPENCLAW_96)


@pytest.fixture(scope="session")
def openclaw_429(openclaw_pool: GatewayPool) -> RealGateway:
    return _gateway(openclaw_pool, OPENCLAW_429)


@pytest.fixture(scope="session", params=VERSIONS)
def openclaw_gateway(request: pytest.FixtureRequest, openclaw_pool: GatewayPool) -> RealGateway:
    return _gateway(openclaw_pool, request.param)


@pytest.fixture
def lifted_rate_limits() -> tuple[str, ...]:
    """Agents of the gateway tests call as often as a test needs."""
    return ("agent_auth", "agent_requests")
