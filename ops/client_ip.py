"""The one place that decides which IP address a request comes from.

The TCP peer (``REMOTE_ADDR``) is the truth, except when that peer is one of our own
proxies (``TRUSTED_PROXIES``): then the proxy tells us the client in ``Forwarded`` or
``X-Forwarded-For``, and we take the left-most entry. Anyone else sending those headers
is ignored, or every caller could pick an IP and escape its rate limit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(value: str) -> Address | None:
    """An IP address, with IPv4-mapped IPv6 (``::ffff:10.0.0.1``) reduced to IPv4."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return None
    return address


def _node_address(node: str) -> Address | None:
    """The address in a ``Forwarded`` node: ``1.2.3.4``, ``1.2.3.4:80``, ``[2001:db8::1]:443``."""
    node = node.strip().strip('"').strip()
    if node.startswith("["):
        closing = node.find("]")
        return parse_ip(node[1:closing]) if closing > 0 else None
    if node.count(":") == 1:
        node = node.split(":", 1)[0]
    return parse_ip(node)


def forwarded_for(header: str) -> Address | None:
    """The ``for=`` of the left-most element of an RFC 7239 ``Forwarded`` header."""
    first_element = header.split(",", 1)[0]
    for pair in first_element.split(";"):
        name, _, value = pair.partition("=")
        if name.strip().lower() == "for":
            return _node_address(value)
    return None


def x_forwarded_for(header: str) -> Address | None:
    """The left-most entry of ``X-Forwarded-For``, tolerating a port or IPv6 brackets."""
    return _node_address(header.split(",", 1)[0])


def is_trusted(address: Address | None, proxies: Iterable[Network]) -> bool:
    return address is not None and any(address.version == net.version and address in net for net in proxies)


def client_ip_from_meta(meta: Mapping[str, Any], proxies: Iterable[Network]) -> str:
    """The client's IP for a request's ``META``; the peer when nothing better is believable."""
    peer_text = str(meta.get("REMOTE_ADDR") or "")
    peer = parse_ip(peer_text)
    if is_trusted(peer, proxies):
        claimed = None
        if meta.get("HTTP_FORWARDED"):
            claimed = forwarded_for(str(meta["HTTP_FORWARDED"]))
        if claimed is None and meta.get("HTTP_X_FORWARDED_FOR"):
            claimed = x_forwarded_for(str(meta["HTTP_X_FORWARDED_FOR"]))
        if claimed is not None:
            return str(claimed)
    return str(peer) if peer is not None else peer_text


def client_ip(request: HttpRequest) -> str:
    """``request.client_ip`` when the middleware set it, else computed now (tests, commands)."""
    known = getattr(request, "client_ip", None)
    if known:
        return str(known)
    return client_ip_from_meta(request.META, settings.TRUSTED_PROXIES)
