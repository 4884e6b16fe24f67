"""The gateway's refusals, as both releases word them (frames captured from the real
2026.9.6 and 2026.4.29), turned into Mission Control's errors and sentences."""

from __future__ import annotations

import re

import pytest

from agents.gateway import errors
from agents.gateway.errors import (
    BadToken,
    ConnectionLost,
    GatewayError,
    GatewayStarting,
    HandshakeRefused,
    MissingScope,
    PairingRequired,
    ProtocolMismatch,
    RateLimited,
    RequestError,
    refusal_from,
)
from agents.gateway.frames import ShutdownNotice

URL = "ws://gw.example:18789"
DEVICE = "b8156edeaf87fa142a179ee23a93a4bc4db820e63d0796204e0dbf33d0f0ef8c"


def refusal(error, method="connect"):
    return refusal_from(error, method=method, url=URL, device_id=DEVICE)


def test_every_error_class_has_a_stable_snake_case_code():
    classes = [cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, GatewayError)]
    codes = [cls.code for cls in classes]
    assert len(classes) >= 13
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", code) for code in codes)
    assert len(set(codes)) == len(codes)


def test_a_token_mismatch_says_which_token_is_meant():
    error = refusal({"code": "INVALID_REQUEST",
                     "message": "unauthorized: gateway token mismatch (provide gateway auth token)",
                     "details": {"code": "AUTH_TOKEN_MISMATCH", "authReason": "token_mismatch"}})
    assert isinstance(error, BadToken) and error.reason == "mismatch" and not error.retryable
    assert "OPENCLAW_GATEWAY_TOKEN" in error.sentence and "gateway.auth.token" in error.sentence
    assert "not a Mission Control token" in error.sentence


def test_a_missing_token_is_a_bad_token_too():
    error = refusal({"code": "INVALID_REQUEST", "message": "unauthorized: gateway token missing",
                     "details": {"code": "AUTH_TOKEN_MISSING"}})
    assert isinstance(error, BadToken) and error.reason == "missing"
    assert "no token was sent" in error.sentence


def test_pairing_required_gives_the_device_and_the_exact_approve_command():
    error = refusal({"code": "NOT_PAIRED", "message": "pairing required: device is not approved yet",
                     "details": {"code": "PAIRING_REQUIRED", "reason": "not-paired",
                                 "requestId": "f0454328-14b5-4260-afc9-a516a1f13f9d", "deviceId": DEVICE}})
    assert isinstance(error, PairingRequired)
    assert error.device_id == DEVICE and error.request_id == "f0454328-14b5-4260-afc9-a516a1f13f9d"
    assert DEVICE in error.sentence
    assert (f"openclaw devices approve f0454328-14b5-4260-afc9-a516a1f13f9d --url {URL} --token <gateway token>"
            in error.sentence)


@pytest.mark.parametrize("details", [
    {"code": "PROTOCOL_MISMATCH", "clientMinProtocol": 5, "clientMaxProtocol": 6, "expectedProtocol": 4},  # 9.6
    {"expectedProtocol": 4},  # 4.29 words it without a code
])
def test_a_protocol_mismatch_is_recognised_in_both_wordings(details):
    error = refusal({"code": "INVALID_REQUEST", "message": "protocol mismatch", "details": details})
    assert isinstance(error, ProtocolMismatch) and error.expected == 4


def test_a_newer_protocol_asks_to_upgrade_mission_control_and_an_older_one_the_gateway():
    assert "Upgrade Mission Control" in ProtocolMismatch(URL, 5).sentence
    assert "Upgrade the gateway" in ProtocolMismatch(URL, 2).sentence


@pytest.mark.parametrize("error", [
    {"code": "FORBIDDEN", "message": "missing scope: operator.admin",
     "details": {"code": "MISSING_SCOPE", "missingScope": "operator.admin", "requiredScopes": ["operator.admin"]}},
    {"code": "INVALID_REQUEST", "message": "missing scope: operator.admin"},
])
def test_a_missing_scope_is_recognised_in_both_wordings(error):
    found = refusal(error, method="agents.create")
    assert isinstance(found, MissingScope)
    assert found.scopes == ("operator.admin",) and found.method == "agents.create"
    assert "agents.create" in found.sentence


def test_gateway_starting_is_retryable_after_the_time_it_gives():
    error = refusal({"code": "UNAVAILABLE", "message": "gateway starting; retry shortly", "retryable": True,
                     "retryAfterMs": 500, "details": {"reason": "startup-sidecars"}})
    assert isinstance(error, GatewayStarting) and error.retryable and error.retry_after == 0.5


def test_a_rate_limit_carries_its_wait_and_its_budget():
    error = refusal({"code": "UNAVAILABLE", "message": "rate limit exceeded for config.patch; retry after 42s",
                     "retryable": True, "retryAfterMs": 42000,
                     "details": {"method": "config.patch", "limit": "3 per 60s"}}, method="config.patch")
    assert isinstance(error, RateLimited) and error.retry_after == 42.0 and error.limit == "3 per 60s"
    assert "3 per 60s" in error.sentence and "42 s" in error.sentence
    assert "in 9.7 s" in RateLimited(URL, "config.patch", 9.748).sentence


def test_a_stale_device_signature_points_at_the_clocks():
    error = refusal({"code": "INVALID_REQUEST", "message": "device signature expired",
                     "details": {"code": "DEVICE_AUTH_SIGNATURE_EXPIRED"}})
    assert isinstance(error, HandshakeRefused) and "clocks" in error.sentence


@pytest.mark.parametrize("message", ['agent "nope" not found', "unknown agent id",
                                     'Agent "nope" no longer exists in configuration'])
def test_not_found_is_recognised_in_every_wording(message):
    error = refusal({"code": "INVALID_REQUEST", "message": message}, method="agents.files.get")
    assert isinstance(error, RequestError) and error.is_not_found
    assert not error.is_already_exists and not error.is_unsupported_file and not error.is_stale_hash


def test_the_other_predicates_of_a_request_error():
    def of(message, details=None):
        return refusal({"code": "INVALID_REQUEST", "message": message, "details": details or {}}, method="x")

    assert of('agent "probe-one" already exists').is_already_exists
    assert of('unsupported file "TOOLS.md"').is_unsupported_file
    assert of("config changed since last load; re-run config.get and retry").is_stale_hash
    assert of('agent file "AGENTS.md" changed since it was read', {"type": "agent_file_conflict"}).is_stale_hash
    assert of("config base hash required; re-run config.get and retry").is_base_hash_required
    assert not of('agent "probe-one" already exists').is_not_found


def test_a_request_error_keeps_the_gateways_code_message_and_details():
    error = refusal({"code": "INVALID_REQUEST", "message": "invalid config: gateway: Unrecognized key",
                     "details": {"issues": [{"path": "gateway"}]}}, method="config.patch")
    assert isinstance(error, RequestError)
    assert (error.gateway_code, error.method, error.details) == ("INVALID_REQUEST", "config.patch",
                                                                 {"issues": [{"path": "gateway"}]})
    assert error.sentence.startswith(f"The gateway at {URL} refused config.patch:")
    assert not error.retryable


def test_a_restart_announced_before_1012_is_a_restart_with_its_expected_wait():
    lost = ConnectionLost(URL, 1012, "service restart",
                          shutdown=ShutdownNotice("gateway restarting", restart_expected_ms=1500))
    assert lost.retryable and lost.retry_after == 1.5
    assert "restarting" in lost.sentence


def test_a_stop_announced_before_1012_says_the_gateway_stopped():
    lost = ConnectionLost(URL, 1012, "service restart", shutdown=ShutdownNotice("gateway stopping"))
    assert "stopped" in lost.sentence and lost.retry_after is None


def test_a_write_in_flight_when_the_connection_went_says_it_may_have_been_applied():
    lost = ConnectionLost(URL, None).again(in_flight="config.patch")
    assert "config.patch was sent but not answered" in lost.sentence
    assert "broke without a goodbye" in lost.sentence


def test_sentences_never_carry_a_library_message():
    sentences = [
        errors.GatewayUnreachable.refused(URL, "gw.example:18789", "ECONNREFUSED", detail="[Errno 111] Connection refused").sentence,
        errors.GatewayUnreachable.unresolvable(URL, "gw.example", temporary=False, detail="[Errno -2] Name or service not known").sentence,
        errors.GatewayUnreachable.tls_failed(URL, "gw.example:18789", certificate=False, plain=True,
                                             detail="[SSL: WRONG_VERSION_NUMBER]").sentence,
    ]
    for sentence in sentences:
        assert "Errno" not in sentence and "SSL:" not in sentence
