"""The gateway client against the fake gateway: handshake, calls and events, timeouts,
reconnects and which calls it repeats, restarts, and every refusal's sentence."""

from __future__ import annotations

import threading
import time

import pytest

from agents.gateway.client import ClientTimeouts
from agents.gateway.counters import GatewayCounters
from agents.gateway.errors import (
    BadToken,
    ConnectionLost,
    GatewayStarting,
    GatewayTimeout,
    GatewayUnreachable,
    MissingScope,
    PairingRequired,
    ProtocolMismatch,
    RateLimited,
    RequestError,
)
from agents.gateway.frames import GatewayEvent
from agents.gateway.retry import RetryPolicy
from tests.gateway.client.conftest import client_of, endpoint_of
from tests.gateway.fake_gateway import V4, V9, FakeGateway, Faults

TEN_MINUTES_MS = 10 * 60 * 1000


# --- handshake -----------------------------------------------------------------------


@pytest.mark.parametrize(("version", "protocol"), [(V9, 4), (V4, 3)])
def test_the_handshake_agrees_on_the_protocol_the_gateway_speaks(identity, version, protocol):
    with FakeGateway(version=version) as gateway, client_of(gateway, identity) as client:
        hello = client.connect()
    assert (hello.protocol, hello.server_version) == (protocol, version)
    assert {"agents.create", "config.patch", "chat.send"} <= hello.methods
    assert "operator.admin" in hello.scopes and hello.tick_interval_ms == 30000
    assert gateway.connections[0].outcome == "hello"


def test_connect_sends_the_documented_fields_and_a_proof_the_gateway_verifies(gateway, client, identity):
    client.connect()
    params = gateway.connections[0].params
    assert (params["minProtocol"], params["maxProtocol"]) == (3, 4)
    assert params["client"]["id"] == "gateway-client" and params["client"]["mode"] == "backend"
    assert params["client"]["platform"] == params["client"]["platform"].lower()
    assert params["client"]["version"] == "0.1.0"
    assert params["role"] == "operator" and params["auth"] == {"token": gateway.token}
    assert params["device"]["id"] == identity.device_id


def test_the_device_proof_is_signed_on_the_gateways_clock(identity):
    # Ten minutes off is far outside the two minutes a gateway allows a signature.
    with FakeGateway(clock_skew_ms=TEN_MINUTES_MS) as gateway, client_of(gateway, identity) as client:
        client.connect()
    record = gateway.connections[0]
    assert record.outcome == "hello"
    assert record.params["device"]["signedAt"] == record.challenge["ts"]


def test_a_protocol_3_only_gateway_and_a_protocol_4_only_gateway_both_accept_us(identity):
    for protocol in (3, 4):
        with FakeGateway(protocol=protocol) as gateway, client_of(gateway, identity) as client:
            assert client.connect().protocol == protocol


def test_a_gateway_speaking_a_protocol_we_do_not_is_a_protocol_mismatch(identity):
    with FakeGateway(protocol=5) as gateway, client_of(gateway, identity) as client:
        with pytest.raises(ProtocolMismatch) as caught:
            client.connect()
    assert caught.value.expected == 5 and caught.value.code == "protocol_mismatch"
    assert "speaks protocol 5" in caught.value.sentence and "Upgrade Mission Control" in caught.value.sentence
    assert len(gateway.connections) == 1, "a mismatch is not retried"


def test_a_wrong_token_says_which_token_to_use_and_is_not_retried(gateway, identity):
    with client_of(gateway, identity, endpoint=endpoint_of(gateway, token="mc_0123_not-the-gateway-token")) as client:
        with pytest.raises(BadToken) as caught:
            client.call("health")
    assert caught.value.reason == "mismatch" and caught.value.code == "bad_token"
    assert "OPENCLAW_GATEWAY_TOKEN" in caught.value.sentence and "not a Mission Control token" in caught.value.sentence
    assert len(gateway.connections) == 1 and gateway.calls == []


def test_an_empty_token_is_reported_as_missing(gateway, identity):
    with client_of(gateway, identity, endpoint=endpoint_of(gateway, token="")) as client:
        with pytest.raises(BadToken) as caught:
            client.connect()
    assert caught.value.reason == "missing"


def test_pairing_required_names_the_device_and_the_command_that_approves_it(identity):
    with FakeGateway(require_pairing=True) as gateway, client_of(gateway, identity) as client:
        with pytest.raises(PairingRequired) as caught:
            client.connect()
    request_id = gateway.pairing_requests[0]
    error = caught.value
    assert (error.device_id, error.request_id, error.code) == (identity.device_id, request_id, "pairing_required")
    assert identity.device_id in error.sentence
    assert f"openclaw devices approve {request_id} --url {gateway.url} --token <gateway token>" in error.sentence
    assert not error.retryable and len(gateway.connections) == 1


def test_a_connect_granted_no_scopes_is_refused_as_missing_scopes(identity):
    # What a remote token-only connect gets: hello-ok, but scopes [] and no error.
    with FakeGateway(granted_scopes=[]) as gateway, client_of(gateway, identity) as client:
        with pytest.raises(MissingScope) as caught:
            client.connect()
        assert not client.connected
    assert set(caught.value.scopes) == {"operator.admin", "operator.write"}
    assert "pair Mission Control's device" in caught.value.sentence


def test_a_read_only_connection_is_usable_when_the_caller_asks_for_no_scopes(identity):
    with FakeGateway(granted_scopes=["operator.read"]) as gateway, \
            client_of(gateway, identity, required_scopes=()) as client:
        assert client.call("agents.list")["agents"]


@pytest.mark.parametrize("version", [V9, V4])
def test_a_call_refused_for_a_missing_scope_names_method_and_scope(identity, version):
    with FakeGateway(version=version, granted_scopes=["operator.read"]) as gateway, \
            client_of(gateway, identity, required_scopes=()) as client:
        with pytest.raises(MissingScope) as caught:
            client.call("agents.create", {"name": "Nope", "workspace": "/tmp/nope"})
    assert caught.value.scopes == ("operator.admin",) and caught.value.method == "agents.create"


def test_unavailable_while_starting_is_waited_out_as_long_as_the_gateway_asks(identity):
    waits: list[float] = []
    faults = Faults(starting_connects=2, starting_retry_after_ms=30)
    with FakeGateway(faults=faults) as gateway, \
            client_of(gateway, identity, sleep=lambda s: (waits.append(s), time.sleep(s))) as client:
        hello = client.connect()
    assert hello.protocol == 4
    assert [c.outcome for c in gateway.connections] == ["UNAVAILABLE", "UNAVAILABLE", "hello"]
    assert len(waits) == 2 and all(wait >= 0.03 for wait in waits)


def test_a_gateway_still_starting_after_the_last_attempt_raises_gateway_starting(identity):
    faults = Faults(starting_connects=5, starting_retry_after_ms=10)
    with FakeGateway(faults=faults) as gateway, \
            client_of(gateway, identity, retry=RetryPolicy(attempts=2, first_delay=0.01)) as client:
        with pytest.raises(GatewayStarting) as caught:
            client.call("health")
    assert caught.value.retryable and caught.value.retry_after == 0.01
    assert len(gateway.connections) == 2


def test_no_challenge_is_a_timeout_on_the_challenge(identity):
    with FakeGateway(faults=Faults(no_challenge=True)) as gateway, \
            client_of(gateway, identity, timeouts=ClientTimeouts(connect=0.2),
                      retry=RetryPolicy(attempts=2, first_delay=0.01)) as client:
        started = time.monotonic()
        with pytest.raises(GatewayTimeout) as caught:
            client.connect()
    assert caught.value.stage == "challenge" and "connect.challenge" in caught.value.sentence
    assert time.monotonic() - started < 1.5
    assert len(gateway.connections) == 2


def test_wss_with_a_self_signed_certificate_needs_allow_insecure_tls(identity):
    with FakeGateway(tls=True) as gateway:
        with client_of(gateway, identity) as client:
            with pytest.raises(GatewayUnreachable) as caught:
                client.connect()
        assert caught.value.stage == "tls" and "not trusted" in caught.value.sentence
        with client_of(gateway, identity, endpoint=endpoint_of(gateway, allow_insecure_tls=True)) as client:
            assert client.call("health")["ok"] is True


# --- calls and events ------------------------------------------------------------------


def test_answers_are_matched_to_their_request_through_interleaved_events(identity):
    faults = Faults(events_before_answer={"agents.list": 3})
    seen: list[GatewayEvent] = []
    with FakeGateway(faults=faults) as gateway, client_of(gateway, identity) as client:
        client.subscribe(seen.append)
        agents = client.call("agents.list")
        health = client.call("health")
    assert [agent["id"] for agent in agents["agents"]] == ["dev"]
    assert health["ok"] is True
    assert [event.name for event in seen] == ["agent", "agent", "agent"]
    assert [event.seq for event in seen] == [1, 2, 3]


def test_request_ids_are_unique_on_a_connection(gateway, client):
    for _ in range(5):
        client.call("health")
    ids = [call.request_id for call in gateway.calls]
    assert len(ids) == len(set(ids)) == 5


def test_events_that_arrive_between_calls_are_dispatched_at_the_next_call(gateway, client):
    seen: list[str] = []
    client.subscribe(lambda event: seen.append(event.payload["n"]))
    client.connect()
    for number in range(3):
        gateway.emit("agent", {"n": number})
    time.sleep(0.05)
    assert seen == [], "nothing reads the socket between calls"
    client.call("health")
    assert seen == [0, 1, 2]


def test_poll_reads_events_without_a_call(gateway, client):
    seen: list[str] = []
    client.subscribe(lambda event: seen.append(event.name))
    client.connect()
    gateway.emit("sessions.changed", {})
    assert client.poll(timeout=1.0) == 1
    assert seen == ["sessions.changed"]
    assert client.poll() == 0


def test_ticks_are_recorded_as_a_liveness_signal(identity):
    with FakeGateway(tick_interval=0.02) as gateway, client_of(gateway, identity) as client:
        client.connect()
        assert client.last_tick_at is None
        time.sleep(0.1)
        client.poll()
        assert client.last_tick_at is not None and time.monotonic() - client.last_tick_at < 1


def test_a_failing_subscriber_does_not_fail_the_call_or_the_others(gateway, client, caplog):
    seen: list[str] = []

    def broken(event: GatewayEvent) -> None:
        raise RuntimeError("subscriber bug")

    client.subscribe(broken)
    client.subscribe(lambda event: seen.append(event.name))
    client.connect()
    gateway.emit("agent", {})
    time.sleep(0.02)
    assert client.call("health")["ok"] is True
    assert seen == ["agent"]
    assert "subscriber failed" in caplog.text


def test_unsubscribe_stops_the_callbacks(gateway, client):
    seen: list[str] = []
    unsubscribe = client.subscribe(lambda event: seen.append(event.name))
    client.connect()
    unsubscribe()
    gateway.emit("agent", {})
    client.poll(timeout=0.5)
    assert seen == []


def test_a_frame_the_client_cannot_read_is_logged_and_skipped(gateway, client, caplog):
    client.connect()
    gateway.send_raw('{"type":"frame-of-the-future","id":"x"}')
    gateway.send_raw("not json")
    time.sleep(0.02)
    assert client.call("health")["ok"] is True
    assert caplog.text.count("frame skipped") == 2


def test_a_refusal_is_a_request_error_with_the_gateways_words(client):
    with pytest.raises(RequestError) as caught:
        client.call("agents.files.get", {"agentId": "nope", "name": "AGENTS.md"})
    assert caught.value.is_not_found and caught.value.gateway_code == "INVALID_REQUEST"
    assert client.connected, "a refusal leaves the connection open"


def test_a_config_patch_over_the_rate_limit_is_rate_limited_with_the_wait(identity):
    with FakeGateway(faults=Faults(patch_limit=1)) as gateway, client_of(gateway, identity) as client:
        base = client.call("config.get", {})["hash"]
        client.call("config.patch", {"raw": '{"agents":{"defaults":{"skipBootstrap":false}}}', "baseHash": base})
        with pytest.raises(RateLimited) as caught:
            client.call("config.patch", {"raw": "{}", "baseHash": base})
    assert caught.value.retry_after == 60 and caught.value.limit == "1 per 60s"
    assert len(gateway.calls_of("config.patch")) == 2, "a refusal is not retried"


def test_calls_from_several_threads_take_turns_on_one_connection(gateway, client):
    answers: list[bool] = []

    def work() -> None:
        for _ in range(5):
            answers.append(client.call("health")["ok"])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [True] * 20
    assert len(gateway.connections) == 1


def test_counters_count_connections_and_rpcs_per_method(identity):
    counters = GatewayCounters()
    with FakeGateway(faults=Faults(drop_on={"status": 1})) as gateway, \
            client_of(gateway, identity, counters=counters) as client:
        client.call("health")
        client.call("status")
        client.call("agents.list")
    figures = counters.figures()
    assert figures.connections_opened == 2
    assert figures.rpcs_sent == {"health": 1, "status": 2, "agents.list": 1}
    assert figures.rpcs_total == 4


# --- timeouts, lost connections and restarts ---------------------------------------------------


def test_a_slow_answer_times_out_and_the_late_answer_is_set_aside(identity):
    with FakeGateway(faults=Faults(slow={"status": 0.5})) as gateway, client_of(gateway, identity) as client:
        client.connect()
        started = time.monotonic()
        with pytest.raises(GatewayTimeout) as caught:
            client.call("status", timeout=0.1)
        assert time.monotonic() - started < 0.45
        assert (caught.value.stage, caught.value.method) == ("call", "status")
        assert len(gateway.calls_of("status")) == 1, "a timed-out call is not repeated"
        # The late status answer arrives first and must not be taken for this one.
        assert client.call("agents.list")["agents"][0]["id"] == "dev"


def test_a_read_is_sent_again_on_a_new_connection_after_a_drop(identity):
    with FakeGateway(faults=Faults(drop_on={"agents.list": 1})) as gateway, client_of(gateway, identity) as client:
        agents = client.call("agents.list")
    assert agents["agents"][0]["id"] == "dev"
    assert [call.connection for call in gateway.calls_of("agents.list")] == [0, 1]


def test_a_write_without_idempotency_key_is_not_repeated_after_a_drop(identity):
    with FakeGateway(faults=Faults(drop_on={"agents.create": 1})) as gateway, client_of(gateway, identity) as client:
        with pytest.raises(ConnectionLost) as caught:
            client.call("agents.create", {"name": "Probe One"})
        assert len(gateway.calls_of("agents.create")) == 1
        assert caught.value.in_flight == "agents.create"
        assert "may or may not have been applied" in caught.value.sentence
        # The next call reconnects by itself.
        assert client.call("health")["ok"] is True
    assert len(gateway.connections) == 2


def test_chat_send_is_repeated_with_its_idempotency_key_and_the_gateway_deduplicates(identity):
    # 4.29-like: the restart closes the connection after the send was carried out, before its answer.
    faults = Faults(restart_on={"chat.send": 1}, restart_answers_first=False)
    params = {"sessionKey": "agent:dev:main", "message": "hello", "idempotencyKey": "mc-task-42-comment-7"}
    with FakeGateway(faults=faults) as gateway, client_of(gateway, identity) as client:
        answer = client.call("chat.send", params)
    assert answer == {"runId": "mc-task-42-comment-7", "status": "in_flight"}
    sent = gateway.calls_of("chat.send")
    assert len(sent) == 2 and {call.params["idempotencyKey"] for call in sent} == {"mc-task-42-comment-7"}


def test_a_read_rides_out_a_restart_announced_with_shutdown_and_1012(identity):
    faults = Faults(restart_on={"config.get": 1}, restart_answers_first=False, restart_expected_ms=40)
    seen: list[str] = []
    waits: list[float] = []
    with FakeGateway(faults=faults) as gateway, \
            client_of(gateway, identity, sleep=lambda s: (waits.append(s), time.sleep(s))) as client:
        client.subscribe(lambda event: seen.append(event.name))
        config = client.call("config.get", {})
        assert client.going_away is None, "a new connection forgets the old one's shutdown"
    assert config["parsed"]["meta"]["lastTouchedVersion"] == V9
    assert "shutdown" in seen
    # The restart's expected duration was honoured, then the "starting" answer's wait.
    assert waits[0] >= 0.04
    assert [c.outcome for c in gateway.connections] == ["hello", "UNAVAILABLE", "hello"]


def test_a_write_lost_to_a_restart_says_it_may_be_applied_and_is_not_repeated(identity):
    faults = Faults(restart_on={"config.patch": 1}, restart_answers_first=False)
    with FakeGateway(version=V4, faults=faults) as gateway, client_of(gateway, identity) as client:
        base = client.call("config.get", {})["hash"]
        with pytest.raises(ConnectionLost) as caught:
            client.call("config.patch", {"raw": '{"gateway":{"bind":"lan"}}', "baseHash": base})
    error = caught.value
    assert error.close_code == 1012 and error.shutdown is not None and error.shutdown.is_restart
    assert error.in_flight == "config.patch" and "restarting" in error.sentence
    assert gateway.patches == 1 and gateway.config["gateway"]["bind"] == "lan"


def test_a_stop_announced_between_calls_is_read_before_reconnecting(identity):
    seen: list[str] = []
    with FakeGateway() as gateway, client_of(gateway, identity) as client:
        client.subscribe(lambda event: seen.append(event.name))
        client.connect()
        gateway.restart(stopping=True)
        gateway.stop()
        with pytest.raises(GatewayUnreachable) as caught:
            client.call("agents.create", {"name": "Never Sent"})
        assert seen == ["shutdown"]
        assert client.going_away is not None and client.going_away.reason == "gateway stopping"
    assert caught.value.stage == "tcp" and "refused" in caught.value.sentence
    assert gateway.calls_of("agents.create") == []


def test_a_write_is_sent_on_a_new_connection_when_the_old_one_died_before_it(identity):
    with FakeGateway() as gateway, client_of(gateway, identity) as client:
        client.connect()
        gateway.restart()
        time.sleep(0.05)
        answer = client.call("agents.create", {"name": "Probe Two"})
    assert answer["agentId"] == "probe-two"
    assert [call.connection for call in gateway.calls_of("agents.create")] == [2]


def test_a_closed_client_refuses_calls(gateway, identity):
    client = client_of(gateway, identity)
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.call("health")
    assert client.closed and gateway.connections == []
