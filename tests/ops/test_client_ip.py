from __future__ import annotations

import ipaddress

import pytest

from ops.client_ip import client_ip_from_meta

pytestmark = pytest.mark.urls("tests.ops.urls")

PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")]


def ip(**meta: str) -> str:
    return client_ip_from_meta(meta, PROXIES)


def test_the_tcp_peer_is_the_client_without_a_proxy():
    assert ip(REMOTE_ADDR="203.0.113.9") == "203.0.113.9"


def test_forwarding_headers_from_an_untrusted_peer_are_ignored():
    assert ip(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="1.2.3.4") == "203.0.113.9"
    assert ip(REMOTE_ADDR="203.0.113.9", HTTP_FORWARDED="for=1.2.3.4") == "203.0.113.9"


def test_a_trusted_proxy_gives_the_left_most_x_forwarded_for_entry():
    assert ip(REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="198.51.100.7, 10.9.9.9") == "198.51.100.7"


def test_a_trusted_proxy_gives_the_left_most_forwarded_for():
    header = 'for=198.51.100.7;proto=https;by=10.0.0.1, for=10.9.9.9'
    assert ip(REMOTE_ADDR="10.1.2.3", HTTP_FORWARDED=header) == "198.51.100.7"


def test_forwarded_handles_quotes_ipv6_brackets_and_ports():
    assert ip(REMOTE_ADDR="10.1.2.3", HTTP_FORWARDED='for="[2001:db8:cafe::17]:4711"') == "2001:db8:cafe::17"
    assert ip(REMOTE_ADDR="10.1.2.3", HTTP_FORWARDED='For="198.51.100.7:8080"') == "198.51.100.7"
    assert ip(REMOTE_ADDR="10.1.2.3", HTTP_FORWARDED='proto=http; for=192.0.2.60') == "192.0.2.60"


def test_forwarded_wins_over_x_forwarded_for():
    assert ip(REMOTE_ADDR="10.1.2.3", HTTP_FORWARDED="for=192.0.2.1",
              HTTP_X_FORWARDED_FOR="192.0.2.2") == "192.0.2.1"


def test_an_obfuscated_forwarded_node_falls_back_to_x_forwarded_for_then_the_peer():
    assert ip(REMOTE_ADDR="10.1.2.3", HTTP_FORWARDED="for=_hidden", HTTP_X_FORWARDED_FOR="192.0.2.2") == "192.0.2.2"
    assert ip(REMOTE_ADDR="10.1.2.3", HTTP_FORWARDED="for=unknown") == "10.1.2.3"


def test_garbage_in_x_forwarded_for_is_not_believed():
    assert ip(REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="not-an-ip, 192.0.2.2") == "10.1.2.3"


def test_ipv6_proxies_and_clients_are_understood():
    assert ip(REMOTE_ADDR="fd00::1", HTTP_X_FORWARDED_FOR="2001:db8::5") == "2001:db8::5"
    assert ip(REMOTE_ADDR="fd00::1", HTTP_X_FORWARDED_FOR="[2001:db8::5]:443") == "2001:db8::5"
    assert ip(REMOTE_ADDR="2001:db8::99", HTTP_X_FORWARDED_FOR="192.0.2.2") == "2001:db8::99"


def test_an_ipv4_mapped_peer_counts_as_its_ipv4_address():
    assert ip(REMOTE_ADDR="::ffff:10.1.2.3", HTTP_X_FORWARDED_FOR="192.0.2.2") == "192.0.2.2"


def test_the_middleware_sets_request_client_ip_from_trusted_proxies(client, settings):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.0/8")]
    response = client.post("/api/v1/echo", REMOTE_ADDR="127.0.0.1", headers={"X-Forwarded-For": "198.51.100.23"})
    assert response.json()["client_ip"] == "198.51.100.23"


def test_the_middleware_ignores_forwarding_headers_without_trusted_proxies(client, settings):
    settings.TRUSTED_PROXIES = []
    response = client.post("/api/v1/echo", REMOTE_ADDR="127.0.0.1", headers={"X-Forwarded-For": "198.51.100.23"})
    assert response.json()["client_ip"] == "127.0.0.1"


@pytest.mark.parametrize(("trusted", "expected_secure"), [(True, True), (False, False)])
def test_only_a_trusted_proxy_can_say_the_request_came_over_https(client, settings, trusted, expected_secure):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.0/8")] if trusted else []
    response = client.post("/api/v1/echo", REMOTE_ADDR="127.0.0.1", headers={"X-Forwarded-Proto": "https"})
    assert response.json()["is_secure"] is expected_secure
