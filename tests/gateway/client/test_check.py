"""The staged gateway check: every stage named when it is the one that fails."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from agents.gateway.check import CheckTimeouts, check_gateway
from agents.gateway.client import GatewayEndpoint
from tests.gateway.client.conftest import endpoint_of
from tests.gateway.fake_gateway import V4, V9, FakeGateway, Faults

# Generous where a stage should pass (the suite may share the machine with heavy work),
# short only in the tests where a stage must time out.
QUICK = CheckTimeouts(resolve=3, tcp=3, tls=3, upgrade=3, challenge=3, connect=3, read=3, total=15)


def check(url: str, token: str, identity, timeouts: CheckTimeouts = QUICK, **options):
    return check_gateway(GatewayEndpoint(url, token, **options), identity, timeouts=timeouts)


def stage_names(report) -> list[str]:
    return [stage.name for stage in report.stages]


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


@pytest.fixture
def web_server() -> Iterator[int]:
    """A plain HTTP server that answers every GET with a page, WebSocket or not."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<h1>not a gateway</h1>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("version", [V9, V4])
def test_a_healthy_gateway_passes_every_stage_with_its_facts(identity, version):
    with FakeGateway(version=version) as gateway:
        report = check(gateway.url, gateway.token, identity)
    assert report.ok and report.failed_stage is None and report.error == ""
    assert stage_names(report) == ["resolve", "tcp", "upgrade", "challenge", "connect", "read"]
    assert all(stage.ok and stage.duration_ms >= 0 for stage in report.stages)
    assert report.server_version == version and report.config_version == version
    assert report.protocol == (4 if version == V9 else 3)
    assert "config.patch" in report.methods and "operator.admin" in report.granted_scopes
    assert report.checked_at.tzinfo is not None
    assert len(gateway.connections) == 1, "one socket through every stage"


def test_wss_adds_the_tls_stage(identity):
    with FakeGateway(tls=True) as gateway:
        report = check(gateway.url, gateway.token, identity, allow_insecure_tls=True)
    assert report.ok
    assert stage_names(report) == ["resolve", "tcp", "tls", "upgrade", "challenge", "connect", "read"]
    assert "not verified" in report.stages[2].detail


@pytest.mark.parametrize("tls", [False, True])
def test_a_connection_that_ends_during_the_upgrade_is_a_retryable_upgrade_failure(identity, monkeypatch, tls):
    from websockets.exceptions import ConnectionClosedError

    from agents.gateway import transport

    def ends(*args, **kwargs):  # what a TLS write failing in the handshake leaves
        raise ConnectionClosedError(None, None)

    monkeypatch.setattr(transport, "connect", ends)
    with FakeGateway(tls=tls) as gateway:
        report = check(gateway.url, gateway.token, identity, allow_insecure_tls=True)
    assert report.failed_stage == "upgrade" and stage_names(report)[-1] == "upgrade"
    assert report.stages[-1].retryable is True
    assert "closed during the WebSocket upgrade" in report.error and "tries again shortly" in report.error


def test_an_untrusted_certificate_fails_at_tls(identity):
    with FakeGateway(tls=True) as gateway:
        report = check(gateway.url, gateway.token, identity)
    assert report.failed_stage == "tls" and "not trusted" in report.error
    assert "insecure TLS" in report.hint


def test_an_unresolvable_host_fails_at_resolve(identity):
    report = check("ws://no-such-gateway.invalid:18789", "t", identity)
    assert report.failed_stage == "resolve" and stage_names(report) == ["resolve"]
    assert "no-such-gateway.invalid" in report.error and report.stages[0].code in ("unreachable", "timeout")


def test_a_closed_port_fails_at_tcp_with_the_docker_hint(identity, closed_port):
    report = check(f"ws://localhost:{closed_port}", "t", identity)
    assert report.failed_stage == "tcp" and stage_names(report) == ["resolve", "tcp"]
    assert "refused" in report.error
    assert f"from inside Docker, use ws://host.docker.internal:{closed_port}" in report.hint


def test_a_remote_host_gets_no_docker_hint(identity):
    hint_of = check_gateway.__globals__["_docker_hint"]
    from agents.gateway.transport import parse_gateway_url

    assert hint_of(parse_gateway_url("ws://gateway.internal:18789")) == ""
    assert "host.docker.internal:18789" in hint_of(parse_gateway_url("ws://127.0.0.1:18789"))


def test_tls_against_a_plain_websocket_port_fails_as_tls(gateway, identity):
    report = check(gateway.url.replace("ws://", "wss://"), gateway.token, identity)
    assert report.failed_stage == "tls"
    assert "did not answer in TLS" in report.error and "ws://" in report.hint


def test_plain_ws_against_a_tls_gateway_fails_at_upgrade_and_suggests_wss(identity):
    with FakeGateway(tls=True) as gateway:
        report = check(gateway.url.replace("wss://", "ws://"), gateway.token, identity)
    assert report.failed_stage == "upgrade"
    assert "use a wss:// URL" in report.error and "wss://" in report.hint


def test_a_web_server_that_is_not_a_websocket_fails_at_upgrade_with_its_status(identity, web_server):
    report = check(f"ws://127.0.0.1:{web_server}", "t", identity)
    assert report.failed_stage == "upgrade"
    upgrade = report.stages[-1]
    assert "HTTP 200" in upgrade.error and "not an OpenClaw gateway" in upgrade.error
    assert "18789" in upgrade.hint


def test_a_server_that_never_sends_the_challenge_fails_at_challenge(identity):
    with FakeGateway(faults=Faults(no_challenge=True)) as gateway:
        report = check(gateway.url, gateway.token, identity, CheckTimeouts(challenge=0.3))
    assert report.failed_stage == "challenge" and report.stages[-1].code == "timeout"
    assert "connect.challenge" in report.error


def test_a_wrong_token_fails_at_connect_and_says_which_token(gateway, identity):
    report = check(gateway.url, "mc_not-the-gateway-token", identity)
    assert report.failed_stage == "connect" and report.stages[-1].code == "bad_token"
    assert "OPENCLAW_GATEWAY_TOKEN" in report.hint and "gateway.auth.token" in report.hint
    assert "not a Mission Control token" in report.error


def test_a_gateway_speaking_another_protocol_fails_at_connect(identity):
    with FakeGateway(protocol=5) as gateway:
        report = check(gateway.url, gateway.token, identity)
    assert report.failed_stage == "connect" and report.stages[-1].code == "protocol_mismatch"
    assert "speaks protocol 5" in report.error and "protocols 3 to 4" in report.hint


def test_pairing_required_fails_at_connect_with_the_approve_command(identity):
    with FakeGateway(require_pairing=True) as gateway:
        report = check(gateway.url, gateway.token, identity)
    assert report.failed_stage == "connect"
    assert f"openclaw devices approve {gateway.pairing_requests[0]} --url {gateway.url}" in report.error
    assert identity.device_id in report.hint


def test_a_connect_granted_no_scopes_fails_at_connect_and_reports_what_was_granted(identity):
    with FakeGateway(granted_scopes=[]) as gateway:
        report = check(gateway.url, gateway.token, identity)
    assert report.failed_stage == "connect" and report.stages[-1].code == "missing_scope"
    assert report.granted_scopes == frozenset() and report.server_version == V9


def test_a_read_that_does_not_answer_fails_at_read(identity):
    with FakeGateway(faults=Faults(slow={"config.get": 2})) as gateway:
        report = check(gateway.url, gateway.token, identity, CheckTimeouts(read=0.3))
    assert report.failed_stage == "read" and report.stages[-1].code == "timeout"
    assert report.server_version == V9 and report.config_version is None


def test_the_total_timeout_bounds_the_check(identity):
    with FakeGateway(faults=Faults(no_challenge=True)) as gateway:
        report = check_gateway(endpoint_of(gateway), identity,
                               timeouts=CheckTimeouts(challenge=5, total=0.3))
    assert report.failed_stage == "challenge"
    assert sum(stage.duration_ms for stage in report.stages) < 1000


def test_a_url_that_is_not_ws_fails_before_any_network(identity):
    report = check("http://127.0.0.1:18789", "t", identity)
    assert report.failed_stage == "url" and "ws:// or wss://" in report.error


def test_a_gateway_still_starting_fails_at_connect_and_says_to_check_again(identity):
    # Real gateways open their port well before they say hello (4.29: ~1.5 s, 9.6: ~5 s).
    with FakeGateway(faults=Faults(starting_connects=1)) as gateway:
        report = check(gateway.url, gateway.token, identity)
        assert report.failed_stage == "connect" and report.stages[-1].code == "gateway_starting"
        assert "check again in a few seconds" in report.hint
        assert check(gateway.url, gateway.token, identity).ok
