from __future__ import annotations

import http.client
import io
import json
import uuid

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_started
from django.db import close_old_connections
from django.test import Client

from tests.ops import servers

pytestmark = pytest.mark.urls("tests.ops.urls")

INGEST = f"/api/v1/boards/{uuid.uuid4()}/webhooks/{uuid.uuid4()}"


@pytest.fixture
def limits(settings):
    settings.API_MAX_BODY_BYTES = 100
    settings.WEBHOOK_MAX_PAYLOAD_BYTES = 300
    return settings


def assert_too_large(response, limit):
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["detail"] == f"Request body is larger than the limit of {limit} bytes."
    assert body["request_id"] == response["X-Request-ID"]


def test_a_body_over_the_api_limit_is_refused_by_content_length(client, limits):
    assert_too_large(client.post("/api/v1/echo", data=b"x" * 101, content_type="text/plain"), 100)


def test_a_body_exactly_at_the_limit_is_accepted(client, limits):
    response = client.post("/api/v1/echo", data=b"x" * 100, content_type="text/plain")
    assert response.status_code == 200
    assert response.json()["length"] == 100


def test_the_ingest_path_has_its_own_larger_limit(client, limits):
    response = client.post(INGEST, data=b"x" * 300, content_type="text/plain")
    assert response.status_code == 202
    assert response.json() == {"length": 300}
    assert_too_large(client.post(INGEST, data=b"x" * 301, content_type="text/plain"), 300)


def test_the_default_webhook_limit_is_one_mebibyte_inclusive(client):
    response = client.post(INGEST, data=b"x" * 1_048_576, content_type="text/plain")
    assert response.status_code == 202
    assert response.json() == {"length": 1_048_576}
    response = client.post(INGEST, data=b"x" * 1_048_577, content_type="text/plain")
    assert response.status_code == 413
    assert response.json()["detail"] == "Request body is larger than the limit of 1048576 bytes."


def test_only_post_on_the_ingest_path_gets_the_webhook_limit(client, limits):
    assert_too_large(client.put(INGEST, data=b"x" * 200, content_type="text/plain"), 100)


def test_console_forms_are_limited_too(client, limits):
    assert_too_large(client.post("/console/echo", data=b"x" * 101, content_type="text/plain"), 100)


def test_the_refusal_comes_before_the_view_reads_anything(client, limits, monkeypatch):
    import tests.ops.urls

    def must_not_run(request, **kwargs):
        raise AssertionError("the view ran")

    monkeypatch.setattr(tests.ops.urls, "echo", must_not_run)
    assert_too_large(client.post("/api/v1/echo", data=b"x" * 101, content_type="text/plain"), 100)


def test_django_lazy_request_data_too_big_is_413_not_400_in_a_view(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    response = client.post("/api/v1/form", data="a=" + "b" * 50, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert response.json()["detail"] == "Request body is too large."


def test_django_lazy_request_data_too_big_is_413_in_a_drf_view(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    response = client.post("/api/v1/drf-body", data=b"x" * 50, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["detail"] == "Request body is too large."


def test_django_lazy_request_data_too_big_is_413_when_middleware_reads_the_form(settings):
    # CSRF middleware reads request.POST (for the form's token) before any view runs.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "A" * 32
    response = client.post("/console/page", data="a=" + "b" * 50, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413


def wsgi_call(environ: dict) -> tuple[str, dict[str, str], bytes]:
    captured: dict = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, dict(headers)

    # As Django's test client does: leave the test's database connection alone.
    request_started.disconnect(close_old_connections)
    try:
        body = b"".join(WSGIHandler()(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
    return captured["status"], captured["headers"], body


def chunked_environ(path: str, body: bytes, *, terminated: bool = True) -> dict:
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "testserver", "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "text/plain", "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }
    if terminated:
        environ["wsgi.input_terminated"] = True
    return environ


def test_a_body_without_content_length_is_counted_and_refused_past_the_limit(limits):
    status, headers, body = wsgi_call(chunked_environ("/api/v1/echo", b"y" * 101))
    assert status.startswith("413")
    assert json.loads(body)["detail"] == "Request body is larger than the limit of 100 bytes."


def test_a_body_without_content_length_within_the_limit_reaches_the_view_whole(limits):
    status, headers, body = wsgi_call(chunked_environ("/api/v1/echo", b"y" * 100))
    assert status.startswith("200")
    assert json.loads(body)["length"] == 100


def test_a_chunked_body_that_breaks_off_is_a_bad_request(limits):
    class BrokenStream(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise OSError("client went away")

    environ = chunked_environ("/api/v1/echo", b"")
    environ["wsgi.input"] = BrokenStream()
    status, headers, body = wsgi_call(environ)
    assert status.startswith("400")
    assert json.loads(body)["detail"] == "The request body could not be read."


def test_a_content_length_that_is_not_a_number_is_a_bad_request(limits):
    environ = chunked_environ("/api/v1/echo", b"abc")
    del environ["HTTP_TRANSFER_ENCODING"]
    environ["CONTENT_LENGTH"] = "three"
    status, headers, body = wsgi_call(environ)
    assert status.startswith("400")
    assert json.loads(body)["detail"] == "Content-Length is not a number."


def test_a_chunked_body_on_a_server_that_cannot_end_it_needs_a_length(limits):
    status, headers, body = wsgi_call(chunked_environ("/api/v1/echo", b"y" * 10, terminated=False))
    assert status.startswith("411")
    assert json.loads(body)["detail"] == "A Content-Length header is required."


class CountingStream(io.RawIOBase):
    """A request body that remembers how much of it was read."""

    def __init__(self, body: bytes) -> None:
        self.source, self.consumed = io.BytesIO(body), 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.consumed += len(data)
        return data


def test_an_over_limit_chunked_ingest_body_is_read_one_byte_past_the_limit_and_no_further(limits):
    environ = chunked_environ(INGEST, b"")
    environ["wsgi.input"] = stream = CountingStream(b"y" * 100_000)
    status, headers, body = wsgi_call(environ)
    assert status.startswith("413")
    assert json.loads(body)["detail"] == "Request body is larger than the limit of 300 bytes."
    assert stream.consumed == 301


def test_an_over_limit_ingest_body_by_content_length_is_never_read(limits):
    environ = chunked_environ(INGEST, b"")
    del environ["HTTP_TRANSFER_ENCODING"]
    environ["CONTENT_LENGTH"] = "100000"
    environ["wsgi.input"] = stream = CountingStream(b"y" * 100_000)
    status, headers, body = wsgi_call(environ)
    assert status.startswith("413")
    assert stream.consumed == 0


def test_the_ingest_route_decides_its_413_after_its_rate_limit(client, limits):
    limits.RATE_LIMITS = {**limits.RATE_LIMITS, "webhook_ingest": (1, 60)}
    ip = "203.0.113.51"  # a client of its own: counters outlive a test
    assert client.post(INGEST, data=b"x" * 10, content_type="text/plain", REMOTE_ADDR=ip).status_code == 202
    response = client.post(INGEST, data=b"x" * 301, content_type="text/plain", REMOTE_ADDR=ip)
    assert response.status_code == 429


def test_an_over_limit_ingest_request_reaches_the_view_marked_with_an_empty_body(client, limits, monkeypatch):
    import tests.ops.urls

    seen = {}

    def record(self, request, **kwargs):
        seen["over"], seen["body"] = getattr(request, "body_over_limit", False), request.body
        return tests.ops.urls.Response({}, status=202)

    monkeypatch.setattr(tests.ops.urls.IngestLikeView, "post", record)
    client.post(INGEST, data=b"x" * 301, content_type="text/plain")
    assert seen == {"over": True, "body": b""}
    client.post(INGEST, data=b"x" * 300, content_type="text/plain")
    assert seen == {"over": False, "body": b"x" * 300}


# --- through a real gunicorn, which de-chunks Transfer-Encoding: chunked -------------------

@pytest.fixture(scope="module")
def gunicorn_port(tmp_path_factory):
    env = {"API_MAX_BODY_BYTES": "1000", "WEBHOOK_MAX_PAYLOAD_BYTES": "5000", "REQUEST_LOG_SLOW_MS": "0"}
    with servers.gunicorn(servers.port(18110), env, workers=2, tmp_path=tmp_path_factory.mktemp("gunicorn")) as port:
        yield port


def post_chunked(port: int, path: str, chunks: list[bytes]) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", path, body=iter(chunks), encode_chunked=True,
                           headers={"Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_gunicorn_chunked_body_within_the_limit_reaches_the_view(gunicorn_port):
    status, body = post_chunked(gunicorn_port, "/api/v1/echo", [b"a" * 400, b"b" * 400, b"c" * 200])
    assert status == 200
    assert body["length"] == 1000


def test_gunicorn_chunked_body_over_the_limit_is_413(gunicorn_port):
    status, body = post_chunked(gunicorn_port, "/api/v1/echo", [b"a" * 600, b"b" * 401])
    assert status == 413
    assert body["detail"] == "Request body is larger than the limit of 1000 bytes."
    assert body["request_id"]


def test_gunicorn_chunked_webhook_payload_uses_the_webhook_limit(gunicorn_port):
    status, body = post_chunked(gunicorn_port, INGEST, [b"a" * 2500, b"b" * 2500])
    assert (status, body) == (202, {"length": 5000})
    status, body = post_chunked(gunicorn_port, INGEST, [b"a" * 2500, b"b" * 2501])
    assert status == 413
    assert body["detail"] == "Request body is larger than the limit of 5000 bytes."


def test_gunicorn_content_length_over_the_limit_is_413(gunicorn_port):
    connection = http.client.HTTPConnection("127.0.0.1", gunicorn_port, timeout=10)
    connection.request("POST", "/api/v1/echo", body=b"z" * 1001, headers={"Content-Type": "text/plain"})
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["detail"] == "Request body is larger than the limit of 1000 bytes."
    connection.close()
