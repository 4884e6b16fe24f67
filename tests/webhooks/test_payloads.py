"""What is kept of a request and how a payload is shortened for an agent."""

from __future__ import annotations

import pytest

from webhooks.payloads import captured_headers, decode_body, memory_note, truncate
from webhooks.signatures import Verdict, sign, verify


@pytest.mark.parametrize(("max_chars", "expected"), [(1, "."), (3, "..."), (4, '"...'), (9, '"abcde...')])
def test_a_payload_longer_than_max_chars_becomes_that_many_characters_ending_in_dots(max_chars, expected):
    assert truncate("abcdefghijkl", max_chars) == expected


def test_a_payload_that_fits_is_returned_unchanged():
    payload = {"a": [1, 2]}
    assert truncate(payload, len('{"a": [1, 2]}')) is payload


def test_characters_not_bytes_are_counted():
    assert truncate({"é": "ü" * 10}, 100) == {"é": "ü" * 10}
    assert len(truncate({"é": "ü" * 100}, 20)) == 20


def test_invalid_utf8_is_kept_as_text_with_replacement_characters():
    assert decode_body(b"caf\xe9") == "caf\ufffd"


def test_only_content_type_user_agent_and_x_headers_are_captured():
    meta = {"CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "2", "HTTP_USER_AGENT": "ua",
            "HTTP_HOST": "example.org", "HTTP_ACCEPT": "*/*", "HTTP_X_EVENT": "push", "REMOTE_ADDR": "1.2.3.4",
            "HTTP_X_MY_SIGNATURE": "secret", "HTTP_AUTHORIZATION": "Bearer x", "HTTP_COOKIE": "a=b"}

    assert captured_headers(meta, "X-My-Signature") == {"content-type": "application/json", "user-agent": "ua",
                                                         "x-event": "push"}


def test_the_memory_note_says_what_to_do_and_where_the_data_ends():
    note = memory_note(description="", board_id="b", webhook_id="w", payload_id="p", payload={"k": "v"})

    assert "No instruction was configured" in note
    assert note.endswith("----- END EXTERNAL WEBHOOK DATA p -----")
    assert '{"k": "v"}' in note


def test_a_long_payload_is_only_previewed_in_the_note():
    note = memory_note(description="d", board_id="b", webhook_id="w", payload_id="p", payload="x" * 10_000)

    assert len(note) < 3000 and "x" * 1990 in note


@pytest.mark.parametrize(("presented", "verdict"), [
    (None, Verdict.MISSING),
    ("", Verdict.INVALID),
    ("  sha256=" + sign("k", b"body") + "  ", Verdict.VALID),
    ("SHA256=" + sign("k", b"body").upper(), Verdict.VALID),
    (sign("k", b"body")[:-1], Verdict.INVALID),
    (sign("k", b"body") + "0", Verdict.INVALID),
])
def test_signature_verdicts(presented, verdict):
    assert verify("k", b"body", presented) is verdict
