"""The fake gateway behaves as the real releases were seen to (so tests built on it mean
something): its connect checks, and the methods' answers in both releases' shapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from agents.gateway.errors import RequestError
from agents.gateway.handshake import Challenge, connect_params
from agents.gateway.identity import DeviceIdentity
from tests.gateway.client.conftest import client_of
from tests.gateway.fake_gateway import V4, V9, FakeGateway, Faults, merge_patch

Params = dict[str, Any]


def raw_connect(gateway: FakeGateway, identity: DeviceIdentity, change: Callable[[Params], None]) -> tuple[dict[str, Any], Any]:
    """Sends a connect changed by ``change``; returns the answer and the close code."""
    with connect(gateway.url, legacy=True, open_timeout=2) as ws:
        challenge = json.loads(ws.recv(timeout=2))["payload"]
        params = connect_params(Challenge(challenge["nonce"], challenge["ts"]), token=gateway.token,
                                identity=identity, client_version="test", platform_name="linux")
        change(params)
        ws.send(json.dumps({"type": "req", "id": "c1", "method": "connect", "params": params}))
        answer = json.loads(ws.recv(timeout=2))
        if answer["ok"]:
            return answer, None
        try:
            ws.recv(timeout=2)
        except ConnectionClosed as closed:
            return answer, closed.rcvd.code if closed.rcvd else None
    return answer, None


def set_device(key: str, value: Any) -> Callable[[Params], None]:
    def change(params: Params) -> None:
        params["device"][key] = value
    return change


@pytest.mark.parametrize(("change", "message", "code"), [
    (set_device("id", "0" * 64), "device identity mismatch", "DEVICE_AUTH_DEVICE_ID_MISMATCH"),
    (set_device("signedAt", 1), "device signature expired", "DEVICE_AUTH_SIGNATURE_EXPIRED"),
    (set_device("nonce", "another"), "device nonce mismatch", "DEVICE_AUTH_NONCE_MISMATCH"),
    (lambda params: params["scopes"].append("operator.talk"), "device signature invalid", "DEVICE_AUTH_SIGNATURE_INVALID"),
])
def test_a_bad_device_proof_is_refused_with_close_1008(gateway, identity, change, message, code):
    answer, close_code = raw_connect(gateway, identity, change)
    assert answer["ok"] is False and answer["error"]["message"] == message
    assert answer["error"]["details"]["code"] == code and close_code == 1008


def test_a_proof_signed_as_payload_v2_is_still_accepted(gateway, identity):
    def sign_v2(params: Params) -> None:
        device = params["device"]
        line = "|".join(["v2", device["id"], "gateway-client", "backend", "operator", ",".join(params["scopes"]),
                         str(device["signedAt"]), gateway.token, device["nonce"]])
        device["signature"] = identity.sign(line)

    answer, _ = raw_connect(gateway, identity, sign_v2)
    assert answer["ok"] is True and answer["payload"]["type"] == "hello-ok"


def test_an_unknown_client_id_is_refused_like_the_real_schema(gateway, identity):
    def rename(params: Params) -> None:
        params["client"]["id"] = "mission-control"

    answer, close_code = raw_connect(gateway, identity, rename)
    assert "at /client/id: must be equal to one of the allowed values" in answer["error"]["message"]
    assert close_code == 1008


@pytest.mark.parametrize(("version", "details"), [
    (V9, {"code": "PROTOCOL_MISMATCH", "clientMinProtocol": 3, "clientMaxProtocol": 3, "expectedProtocol": 4,
          "minimumProbeProtocol": 3}),
    (V4, {"expectedProtocol": 3}),
])
def test_a_protocol_mismatch_is_worded_as_each_release_words_it(identity, version, details):
    other = 4 if version == V4 else 3
    with FakeGateway(version=version) as gateway:
        answer, close_code = raw_connect(gateway, identity,
                                         lambda params: params.update(minProtocol=other, maxProtocol=other))
    assert answer["error"] == {"code": "INVALID_REQUEST", "message": "protocol mismatch",
                               "details": {**details, **({"clientMinProtocol": other, "clientMaxProtocol": other}
                                                         if version == V9 else {})}}
    assert close_code == 1002


def test_the_connection_is_recorded_with_its_params_and_outcome(gateway, client):
    client.call("health")
    record = gateway.connections[0]
    assert record.outcome == "hello" and record.protocol == 4 and record.params["role"] == "operator"
    assert [call.method for call in gateway.calls] == ["health"]


# --- config ----------------------------------------------------------------------------


def test_the_9_6_config_keeps_agents_in_entries_and_4_29_in_a_list(identity):
    with FakeGateway(version=V9) as newer, client_of(newer, identity) as client:
        client.call("agents.create", {"name": "Cfg Agent"})
        parsed = client.call("config.get", {})["parsed"]
        assert set(parsed["agents"]["entries"]) == {"dev", "cfg-agent"} and "list" not in parsed["agents"]
    with FakeGateway(version=V4) as older, client_of(older, identity) as client:
        client.call("agents.create", {"name": "Cfg Agent", "workspace": "/tmp/cfg"})
        config = client.call("config.get", {})
        assert [item["id"] for item in config["parsed"]["agents"]["list"]] == ["dev", "cfg-agent"]
        assert config["raw"] is None and len(config["hash"]) == 64


def test_a_patch_changes_the_hash_and_a_no_op_answers_noop_without_a_write(identity):
    with FakeGateway() as gateway, client_of(gateway, identity) as client:
        first = client.call("config.get", {})["hash"]
        assert first.startswith("hmac-sha256:v1:")
        raw = '{"agents":{"entries":{"dev":{"heartbeat":{"every":"1h"}}}}}'
        changed = client.call("config.patch", {"raw": raw, "baseHash": first})
        assert changed["changedPaths"] == ["agents.entries.dev.heartbeat"]
        assert changed["hash"] != first
        again = client.call("config.patch", {"raw": raw, "baseHash": changed["hash"]})
        assert again["noop"] is True and again["changedPaths"] == []
        assert client.call("config.get", {})["hash"] == changed["hash"]
    assert gateway.patches == 2


def test_a_stale_base_hash_is_refused(identity):
    with FakeGateway() as gateway, client_of(gateway, identity) as client:
        old = client.call("config.get", {})["hash"]
        client.call("config.patch", {"raw": '{"gateway":{"bind":"lan"}}', "baseHash": old})
        with pytest.raises(RequestError) as caught:
            client.call("config.patch", {"raw": '{"gateway":{"bind":"loopback"}}', "baseHash": old})
    assert caught.value.is_stale_hash
    assert gateway.config["gateway"]["bind"] == "lan"


@pytest.mark.parametrize(("version", "raw"), [(V9, '{"gateway":{"bind":"lan"}}'), (V4, "{}")])
def test_a_patch_without_base_hash_is_refused_where_the_release_refuses_it(identity, version, raw):
    with FakeGateway(version=version) as gateway, client_of(gateway, identity) as client:
        with pytest.raises(RequestError) as caught:
            client.call("config.patch", {"raw": raw})
    assert caught.value.is_base_hash_required


def test_the_4_29_list_is_merged_by_id():
    config = {"agents": {"list": [{"id": "a", "heartbeat": {"every": "1h", "target": "none"}}, {"id": "b"}]}}
    merged = merge_patch(config, {"agents": {"list": [{"id": "a", "heartbeat": {"every": "2h"}}]}})
    assert merged["agents"]["list"] == [{"id": "a", "heartbeat": {"every": "2h", "target": "none"}}, {"id": "b"}]
    assert merge_patch({"a": 1, "b": 2}, {"a": None}) == {"b": 2}


# --- agents and files ----------------------------------------------------------------------


def test_create_makes_a_slug_id_and_the_same_name_again_already_exists(gateway, client):
    assert client.call("agents.create", {"name": "Probe One"})["agentId"] == "probe-one"
    with pytest.raises(RequestError) as caught:
        client.call("agents.create", {"name": "Probe One"})
    assert caught.value.is_already_exists
    assert gateway.agent_ids() == ["dev", "probe-one"]


def test_4_29_requires_a_workspace_on_create(identity):
    with FakeGateway(version=V4) as gateway, client_of(gateway, identity) as client:
        with pytest.raises(RequestError) as caught:
            client.call("agents.create", {"name": "No Workspace"})
    assert "must have required property 'workspace'" in caught.value.message


def test_the_already_exists_fault_refuses_any_create(identity):
    with FakeGateway(faults=Faults(create_exists=True)) as gateway, client_of(gateway, identity) as client:
        with pytest.raises(RequestError) as caught:
            client.call("agents.create", {"name": "Fresh"})
    assert caught.value.is_already_exists


def test_the_not_found_window_after_create_lasts_the_given_number_of_calls(identity):
    with FakeGateway(faults=Faults(not_found_window=2)) as gateway, client_of(gateway, identity) as client:
        client.call("agents.create", {"name": "Slow Start"})
        for _ in range(2):
            with pytest.raises(RequestError) as caught:
                client.call("agents.files.list", {"agentId": "slow-start"})
            assert caught.value.is_not_found
        assert client.call("agents.files.list", {"agentId": "slow-start"})["agentId"] == "slow-start"


@pytest.mark.parametrize(("version", "refused", "accepted"), [
    (V9, ["TOOLS.md", "HEARTBEAT.md"], ["AGENTS.md", "IDENTITY.md", "MEMORY.md"]),
    (V4, ["memory.md", "NOTES.md"], ["TOOLS.md", "HEARTBEAT.md", "AGENTS.md"]),
])
def test_each_release_has_its_own_file_allow_list(identity, version, refused, accepted):
    with FakeGateway(version=version) as gateway, client_of(gateway, identity) as client:
        for name in accepted:
            client.call("agents.files.set", {"agentId": "dev", "name": name, "content": f"# {name}\n"})
        for name in refused:
            with pytest.raises(RequestError) as caught:
                client.call("agents.files.set", {"agentId": "dev", "name": name, "content": "x"})
            assert caught.value.is_unsupported_file


def test_a_file_written_is_read_back_and_9_6_guards_it_with_its_hash(gateway, client):
    client.call("agents.files.set", {"agentId": "dev", "name": "AGENTS.md", "content": "# one\n"})
    read = client.call("agents.files.get", {"agentId": "dev", "name": "AGENTS.md"})["file"]
    assert read["content"] == "# one\n" and read["missing"] is False
    client.call("agents.files.set", {"agentId": "dev", "name": "AGENTS.md", "content": "# two\n",
                                     "expectedHash": read["hash"]})
    with pytest.raises(RequestError) as caught:
        client.call("agents.files.set", {"agentId": "dev", "name": "AGENTS.md", "content": "# three\n",
                                         "expectedHash": read["hash"]})
    assert caught.value.is_stale_hash and caught.value.details["currentHash"]


def test_9_6_leaves_identity_md_out_of_the_file_list(gateway, client):
    names = [entry["name"] for entry in client.call("agents.files.list", {"agentId": "dev"})["files"]]
    assert "IDENTITY.md" not in names and "AGENTS.md" in names


@pytest.mark.parametrize(("version", "message"), [(V9, 'agent "nope" not found'), (V4, "unknown agent id")])
def test_an_unknown_agent_is_worded_as_each_release_words_it(identity, version, message):
    with FakeGateway(version=version) as gateway, client_of(gateway, identity) as client:
        with pytest.raises(RequestError) as caught:
            client.call("agents.files.get", {"agentId": "nope", "name": "AGENTS.md"})
    assert caught.value.message == message and caught.value.is_not_found


def test_update_and_delete_change_the_roster(gateway, client):
    client.call("agents.create", {"name": "Probe One"})
    client.call("agents.update", {"agentId": "probe-one", "name": "Renamed", "emoji": "🛰️"})
    assert gateway.config["agents"]["entries"]["probe-one"]["identity"] == {"name": "Renamed", "emoji": "🛰️"}
    client.call("agents.delete", {"agentId": "probe-one"})
    assert gateway.agent_ids() == ["dev"]


def test_unknown_params_and_unknown_methods_are_refused(client):
    with pytest.raises(RequestError, match="unexpected property 'bogus'"):
        client.call("agents.list", {"bogus": 1})
    with pytest.raises(RequestError, match="unknown method: does.not.exist"):
        client.call("does.not.exist", {})


# --- chat and sessions ------------------------------------------------------------------


def test_chat_send_uses_the_idempotency_key_as_run_id_and_a_repeat_is_in_flight(client):
    params = {"sessionKey": "agent:dev:mc-thread", "message": "hello", "idempotencyKey": "k-1"}
    assert client.call("chat.send", params) == {"runId": "k-1", "status": "started"}
    assert client.call("chat.send", params) == {"runId": "k-1", "status": "in_flight"}
    history = client.call("chat.history", {"sessionKey": "agent:dev:mc-thread"})
    assert [message["content"] for message in history["messages"]] == ["hello"]
    with pytest.raises(RequestError, match="idempotencyKey"):
        client.call("chat.send", {"sessionKey": "agent:dev:main", "message": "no key"})


@pytest.mark.parametrize(("version", "main_deletable"), [(V9, False), (V4, True)])
def test_sessions_are_listed_and_deleted_and_9_6_keeps_the_main_one(identity, version, main_deletable):
    with FakeGateway(version=version) as gateway, client_of(gateway, identity) as client:
        for key in ("agent:dev:main", "agent:dev:thread"):
            client.call("chat.send", {"sessionKey": key, "message": "hi", "idempotencyKey": key})
        assert {row["key"] for row in client.call("sessions.list", {})["sessions"]} == {
            "agent:dev:main", "agent:dev:thread"}
        assert client.call("sessions.delete", {"key": "agent:dev:thread"})["deleted"] is True
        if main_deletable:
            assert client.call("sessions.delete", {"key": "agent:dev:main"})["deleted"] is True
        else:
            with pytest.raises(RequestError, match="Cannot delete the main session"):
                client.call("sessions.delete", {"key": "agent:dev:main"})


def test_single_aspects_of_a_release_can_be_overridden(identity):
    # A 9.6 gateway still holding a 4.29-style roster, with 4.29's file allow-list.
    with FakeGateway(version=V9, config_shape="list", files=V4) as gateway, client_of(gateway, identity) as client:
        assert client.connect().protocol == 4
        client.call("agents.create", {"name": "Legacy"})
        assert [item["id"] for item in client.call("config.get", {})["parsed"]["agents"]["list"]] == ["dev", "legacy"]
        assert client.call("agents.files.set", {"agentId": "legacy", "name": "TOOLS.md", "content": "x"})["ok"]
