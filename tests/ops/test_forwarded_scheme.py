"""Only our own proxies may say a request came over HTTPS: gunicorn and Django believe
X-Forwarded-Proto, X-Forwarded-Ssl and X-Forwarded-Protocol from TRUSTED_PROXIES alone."""

from __future__ import annotations

import http.client
import json

import pytest

from tests.ops import servers
from tests.ops.test_deployment_files import gunicorn_settings

UNTRUSTING_PORT = servers.port(18120)
TRUSTING_PORT = servers.port(18121)
SCHEME_HEADERS = [("X-Forwarded-Proto", "https"), ("X-Forwarded-Ssl", "on"), ("X-Forwarded-Protocol", "ssl")]


def is_secure(port: int, header: str, value: str) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", "/api/v1/echo", body=b"", headers={header: value})
        response = connection.getresponse()
        assert response.status == 200
        return json.loads(response.read())["is_secure"]
    finally:
        connection.close()


@pytest.fixture(scope="module")
def untrusting_server(tmp_path_factory):
    with servers.gunicorn(UNTRUSTING_PORT, {"TRUSTED_PROXIES": ""}, workers=1,
                          tmp_path=tmp_path_factory.mktemp("untrusting")) as port:
        yield port


@pytest.fixture(scope="module")
def trusting_server(tmp_path_factory):
    with servers.gunicorn(TRUSTING_PORT, {"TRUSTED_PROXIES": "127.0.0.1"}, workers=1,
                          tmp_path=tmp_path_factory.mktemp("trusting")) as port:
        yield port


@pytest.mark.parametrize(("header", "value"), SCHEME_HEADERS)
def test_a_peer_that_is_not_a_trusted_proxy_cannot_make_a_request_count_as_https(untrusting_server, header, value):
    assert is_secure(untrusting_server, header, value) is False


@pytest.mark.parametrize(("header", "value"), SCHEME_HEADERS)
def test_a_trusted_proxy_says_the_request_came_over_https(trusting_server, header, value):
    assert is_secure(trusting_server, header, value) is True


def test_gunicorn_trusts_forwarding_headers_from_the_trusted_proxies_only():
    assert gunicorn_settings(TRUSTED_PROXIES="")["forwarded_allow_ips"] == ""
    assert gunicorn_settings(TRUSTED_PROXIES="10.0.0.5, 172.16.0.0/12")["forwarded_allow_ips"] == \
        "10.0.0.5/32,172.16.0.0/12"
    # A range written with host bits is the range it names, as Django reads it.
    assert gunicorn_settings(TRUSTED_PROXIES="192.168.1.1/24")["forwarded_allow_ips"] == "192.168.1.0/24"
