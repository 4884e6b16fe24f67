"""The real-gateway fixtures work with both OpenClaw versions: a Python operator connect
gets hello-ok in the version's protocol, methods answer, the seeded config is the one the
gateway runs on, the log can be read, and a session starts each gateway once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.gateway.real import OPENCLAW_96, OPENCLAW_429, GatewayPool, RealGateway
from tests.gateway.rpc import GatewayCallError

PROTOCOL = {OPENCLAW_96: 4, OPENCLAW_429: 3}
SEEN_PROCESSES: dict[str, set[int]] = {}


def test_connect_gets_hello_ok_in_the_protocol_of_the_version(openclaw_gateway: RealGateway) -> None:
    with openclaw_gateway.connect() as connection:
        assert connection.hello["type"] == "hello-ok"
        assert connection.protocol == PROTOCOL[openclaw_gateway.version]
        assert connection.hello["server"]["version"] == openclaw_gateway.version
        assert connection.hello["snapshot"]["authMode"] == "token"


def test_agents_list_answers_with_the_default_agent(openclaw_gateway: RealGateway) -> None:
    with openclaw_gateway.connect() as connection:
        payload = connection.call("agents.list")
    assert payload["defaultId"] in [agent["id"] for agent in payload["agents"]]


def test_a_refused_call_raises_with_the_gateways_code(openclaw_gateway: RealGateway) -> None:
    with openclaw_gateway.connect() as connection, pytest.raises(GatewayCallError) as refused:
        connection.call("agents.list", {"bogus": True})
    assert refused.value.code == "INVALID_REQUEST"
    assert "unexpected property 'bogus'" in refused.value.message


def test_the_gateway_runs_on_the_seeded_config(openclaw_gateway: RealGateway) -> None:
    config = openclaw_gateway.config()
    assert config["update"] == {"checkOnStart": False, "auto": {"enabled": False}}
    assert config["discovery"] == {"mdns": {"mode": "off"}}
    assert Path(config["logging"]["file"]) == openclaw_gateway.log_file
    with openclaw_gateway.connect() as connection:
        answer = connection.call("config.get")
    assert answer["path"] == str(openclaw_gateway.config_path)
    # config.get hides values that may carry credentials, such as 9.6's proxy.proxyUrl.
    assert without_proxy(answer["parsed"]) == without_proxy(config)


def without_proxy(config: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in config.items() if key != "proxy"}


def test_the_gateway_stays_off_the_network_and_logs_in_its_home(openclaw_gateway: RealGateway) -> None:
    # 4.29 reports a newer release in hello-ok and keeps update-check.json when it checked.
    assert "updateAvailable" not in openclaw_gateway.hello["snapshot"]
    assert not (openclaw_gateway.state_dir / "update-check.json").exists()
    assert openclaw_gateway.log_file.is_relative_to(openclaw_gateway.home)
    first_record = json.loads(openclaw_gateway.log_file.read_text().splitlines()[0])
    assert first_record["_meta"]["runtimeVersion"] == "24.22.3"


def test_log_tail_returns_the_last_lines_the_gateway_printed(openclaw_gateway: RealGateway) -> None:
    assert "[gateway] ready" in openclaw_gateway.log_tail(lines=10_000)
    assert len(openclaw_gateway.log_tail().splitlines()) <= 80
    last_three = openclaw_gateway.log_tail(lines=3).splitlines()
    assert len(last_three) == 3
    assert all(line in openclaw_gateway.console_log.read_text() for line in last_three)


def test_the_cli_reaches_the_gateway(openclaw_gateway: RealGateway) -> None:
    result = openclaw_gateway.cli("gateway", "call", "health", "--url", openclaw_gateway.url,
                                  "--token", openclaw_gateway.token, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True


@pytest.mark.parametrize("user", ["first", "second"])
def test_tests_of_one_session_share_one_gateway_process(user: str, openclaw_gateway: RealGateway,
                                                        openclaw_pool: GatewayPool) -> None:
    seen = SEEN_PROCESSES.setdefault(openclaw_gateway.version, set())
    seen.add(openclaw_gateway.process.pid)
    assert seen == {openclaw_gateway.process.pid}
    assert openclaw_gateway.process.poll() is None
    assert openclaw_pool.starts[openclaw_gateway.version] == 1


VERSION_FIXTURES = {OPENCLAW_96: "openclaw_96", OPENCLAW_429: "openclaw_429"}


def test_the_version_fixture_is_the_parametrised_one(openclaw_gateway: RealGateway, openclaw_pool: GatewayPool,
                                                     request: pytest.FixtureRequest) -> None:
    # One version per test, so each version's tests stay in the worker of its own group.
    named = request.getfixturevalue(VERSION_FIXTURES[openclaw_gateway.version])
    assert named is openclaw_gateway and named.version == openclaw_gateway.version
    assert openclaw_pool.get(openclaw_gateway.version) is openclaw_gateway
    # Gateways of one process (a run without xdist starts both) never share a port.
    ports = [gateway.port for gateway in openclaw_pool.gateways.values()]
    assert len(ports) == len(set(ports))


def test_each_versions_group_is_scheduled_first() -> None:
    # A group missing from FIRST_GROUPS would start last and make the run wait for its gateway.
    from tests.conftest import FIRST_GROUPS
    from tests.gateway.conftest import group_of_versions
    from tests.gateway.real import VERSIONS

    assert {group_of_versions([version]) for version in VERSIONS} <= set(FIRST_GROUPS)
