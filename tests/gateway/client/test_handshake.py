"""The connect request Mission Control sends, and the hello-ok it reads."""

from __future__ import annotations

from agents.gateway import handshake
from agents.gateway.handshake import (
    Challenge,
    connect_params,
    normalized_meta,
    parse_hello,
    proof_payload,
)
from agents.gateway.identity import DeviceIdentity

URL = "ws://127.0.0.1:18789"


def test_the_proof_line_is_payload_v3_as_the_gateway_documents_it():
    line = proof_payload(device_id="b815", scopes=["operator.admin", "operator.read", "operator.write"],
                         signed_at_ms=1796118625409, token="tok", nonce="ec3a", platform_name="linux")
    assert line == ("v3|b815|gateway-client|backend|operator|operator.admin,operator.read,operator.write|"
                    "1796118625409|tok|ec3a|linux|")


def test_platform_and_device_family_are_trimmed_and_only_ascii_letters_lowered():
    assert normalized_meta("  Linux ") == "linux"
    assert normalized_meta("ÄRM64") == "Ärm64"
    assert normalized_meta(None) == ""


def test_connect_params_offer_protocols_3_to_4_as_an_operator_backend(identity: DeviceIdentity):
    params = connect_params(Challenge("nonce-1", 1796117303826), token="secret", identity=identity,
                            client_version="0.1.0", platform_name="linux")
    assert (params["minProtocol"], params["maxProtocol"]) == (3, 4)
    assert params["client"] == {"id": "gateway-client", "version": "0.1.0", "platform": "linux", "mode": "backend"}
    assert params["role"] == "operator"
    assert params["scopes"] == ["operator.admin", "operator.read", "operator.write", "operator.approvals",
                                "operator.pairing"]
    assert params["auth"] == {"token": "secret"}
    device = params["device"]
    assert device["id"] == identity.device_id and device["publicKey"] == identity.public_key
    # Signed on the gateway's clock, so a skewed host clock does not matter.
    assert device["signedAt"] == 1796117303826 and device["nonce"] == "nonce-1"


def test_without_a_challenge_timestamp_the_proof_is_signed_now(identity: DeviceIdentity):
    params = connect_params(Challenge("n", None), token="t", identity=identity, client_version="1")
    assert params["device"]["signedAt"] > 1_700_000_000_000
    assert params["client"]["platform"] == params["client"]["platform"].lower()


def test_hello_ok_of_2026_4_29_is_read_without_the_newer_fields():
    hello = parse_hello(URL, {
        "type": "hello-ok", "protocol": 3, "server": {"version": "2026.4.29", "connId": "5cad"},
        "features": {"methods": ["health", "agents.list"], "events": ["connect.challenge", "tick"]},
        "auth": {"role": "operator", "scopes": ["operator.admin", "operator.read"]},
        "policy": {"maxPayload": 26214400, "tickIntervalMs": 30000}})
    assert hello.protocol == 3 and hello.server_version == "2026.4.29"
    assert hello.methods == {"health", "agents.list"} and hello.events == {"connect.challenge", "tick"}
    assert hello.scopes == {"operator.admin", "operator.read"}
    assert hello.tick_interval_ms == 30000 and hello.device_token is None


def test_hello_ok_carries_the_device_token_a_paired_device_gets():
    hello = parse_hello(URL, {"protocol": 4, "auth": {"scopes": [], "deviceToken": "dt-1"}})
    assert hello.device_token == "dt-1" and hello.scopes == frozenset() and hello.methods == frozenset()


def test_provisioning_needs_admin_and_write():
    assert set(handshake.REQUIRED_SCOPES) == {"operator.admin", "operator.write"}
