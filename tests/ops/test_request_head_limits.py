"""A request line or headers that are too long get 414 or 431 in the error envelope, from a
real gunicorn whose own (HTML-answering) limits sit above ours; past gunicorn's limits,
and for what gunicorn cannot parse, its bare page remains, as the runbook says."""

from __future__ import annotations

import json
import socket

import pytest

from ops import request_head
from tests.ops import servers

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gunicorn_port(tmp_path_factory):
    with servers.gunicorn(servers.port(18116), {}, workers=1, tmp_path=tmp_path_factory.mktemp("head")) as port:
        yield port


def raw(port: int, head: bytes, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Sends ``head`` (request line and headers, without the blank line) as bytes on a socket."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head + b"Host: localhost\r\nConnection: close\r\n\r\n" + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head_text, _, content = answer.partition(b"\r\n\r\n")
    status_line, *lines = head_text.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    if headers.get("transfer-encoding") == "chunked":
        content = dechunked(content)
    return int(status_line.split()[1]), headers, content


def dechunked(content: bytes) -> bytes:
    body = b""
    while True:
        size_line, _, rest = content.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return body
        body, content = body + rest[:size], rest[size + 2:]


def assert_envelope(headers: dict[str, str], content: bytes, sentence: str) -> None:
    assert headers["content-type"] == "application/json"
    body = json.loads(content)
    assert body["detail"] == sentence
    assert body["request_id"] == headers["x-request-id"]


def get(path: bytes, fields: bytes = b"") -> bytes:
    return b"GET " + path + b" HTTP/1.1\r\n" + fields


def test_a_request_line_over_our_limit_is_414_in_the_envelope(gunicorn_port):
    status, headers, content = raw(gunicorn_port, get(b"/api/v1/boards?q=" + b"a" * 5000))

    assert status == 414
    assert_envelope(headers, content, request_head.URI_TOO_LONG)


def test_a_request_line_at_our_limit_reaches_the_application(gunicorn_port):
    line_overhead = len(b"GET /api/v1/nothing?q= HTTP/1.1")
    status, headers, content = raw(gunicorn_port, get(b"/api/v1/nothing?q=" + b"a" * (4094 - line_overhead)))

    assert status == 404
    assert json.loads(content)["detail"] == "Not found."


def test_too_many_header_fields_are_431_in_the_envelope(gunicorn_port):
    fields = b"".join(b"X-Field-%d: v\r\n" % number for number in range(120))

    status, headers, content = raw(gunicorn_port, get(b"/api/v1/boards", fields))

    assert status == 431
    assert_envelope(headers, content, request_head.TOO_MANY_FIELDS)


def test_a_header_field_over_our_limit_is_431_in_the_envelope(gunicorn_port):
    status, headers, content = raw(gunicorn_port, get(b"/api/v1/boards", b"X-Big: " + b"a" * 10_000 + b"\r\n"))

    assert status == 431
    assert_envelope(headers, content, request_head.FIELD_TOO_LARGE)


def test_off_the_api_the_answer_is_plain_text(gunicorn_port):
    status, headers, content = raw(gunicorn_port, get(b"/boards/?q=" + b"a" * 5000))

    assert status == 414
    assert headers["content-type"].startswith("text/plain")
    assert content.decode() == request_head.URI_TOO_LONG


# What gunicorn still answers itself, with its HTML page (docs/operations.md lists these;
# nginx in front answers them before gunicorn sees them).

@pytest.mark.parametrize("head, status", [
    (get(b"/api/v1/boards?q=" + b"a" * 9000), 414),  # past limit_request_line
    (get(b"/api/v1/boards", b"".join(b"X-Field-%d: v\r\n" % n for n in range(250))), 431),  # limit_request_fields
    (get(b"/api/v1/boards", b"X-Big: " + b"a" * 20_000 + b"\r\n"), 431),  # limit_request_field_size
    (b"POST /api/v1/boards HTTP/1.1\r\nContent-Length: ten\r\n", 400),  # not a number
    (b"POST /api/v1/boards HTTP/1.1\r\nContent-Length: -1\r\n", 400),  # negative
    (b"POST /api/v1/boards HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n", 400),  # two lengths
    (b"POST /api/v1/boards HTTP/1.1\r\nTransfer-Encoding: gzip\r\n", 400),  # not chunked
    (b"G@T /api/v1/boards HTTP/1.1\r\n", 400),  # not a method
    (get(b"/api/v1/boards", b"X(y): 1\r\n"), 400),  # not a header name
])
def test_what_gunicorn_refuses_before_the_application_is_its_own_page(gunicorn_port, head, status):
    answer_status, headers, _ = raw(gunicorn_port, head)

    assert answer_status == status
    assert headers["content-type"] == "text/html"
    assert "x-request-id" not in headers


# The middleware alone, as the Django test client calls it.

def test_the_middleware_measures_the_request_line_and_headers(client):
    assert client.get("/api/v1/boards", {"q": "a" * 5000}).status_code == 414
    assert client.get("/api/v1/boards", headers={"X-Big": "a" * 9000}).status_code == 431
    many = {f"X-Field-{number}": "v" for number in range(101)}
    assert client.get("/api/v1/boards", headers=many).status_code == 431


def test_gunicorn_limits_sit_above_ours():
    import runpy

    config = runpy.run_path(str(servers.REPO / "gunicorn.conf.py"))
    assert config["limit_request_line"] > request_head.MAX_REQUEST_LINE
    assert config["limit_request_fields"] > request_head.MAX_HEADER_FIELDS
    assert config["limit_request_field_size"] > request_head.MAX_HEADER_FIELD_SIZE
