"""HMAC-SHA256 signatures of webhook bodies, as GitHub and most senders compute them.

The sender signs the raw body bytes with the shared secret and sends the hex digest,
with or without a ``sha256=`` prefix, in a header. We recompute it over the exact bytes
we received (never a re-serialised JSON) and compare in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from enum import Enum

# Tried in this order when the webhook names no header of its own.
DEFAULT_SIGNATURE_HEADERS = ("X-Hub-Signature-256", "X-Webhook-Signature")
_PREFIX = "sha256="
# RFC 9110 field-name: a "token" of visible ASCII without separators.
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class Verdict(Enum):
    VALID = "valid"
    MISSING = "missing"
    INVALID = "invalid"


def sign(secret: str, body: bytes) -> str:
    """The lower-case hex HMAC-SHA256 of ``body`` under ``secret``."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def header_names(signature_header: str) -> tuple[str, ...]:
    """The headers that may carry the signature for a webhook, in order of preference."""
    return (signature_header,) if signature_header else DEFAULT_SIGNATURE_HEADERS


def meta_key(header: str) -> str:
    """The WSGI ``META`` key of a request header (``X-Hub-Signature-256`` -> ``HTTP_X_HUB_SIGNATURE_256``)."""
    return "HTTP_" + header.upper().replace("-", "_")


def presented_signature(meta: Mapping[str, object], signature_header: str) -> str | None:
    """The signature value the request carries, from the first header that is present."""
    for name in header_names(signature_header):
        value = meta.get(meta_key(name))
        if value is not None:
            return str(value)
    return None


def verify(secret: str, body: bytes, presented: str | None) -> Verdict:
    if presented is None:
        return Verdict.MISSING
    value = presented.strip()
    if value[:len(_PREFIX)].lower() == _PREFIX:
        value = value[len(_PREFIX):]
    expected = sign(secret, body).encode("ascii")
    # Bytes, not str: compare_digest refuses non-ASCII str, and a sender's junk must be "invalid", not a crash.
    given = value.lower().encode("utf-8", errors="replace")
    return Verdict.VALID if hmac.compare_digest(expected, given) else Verdict.INVALID


def is_valid_header_name(name: str) -> bool:
    return bool(HEADER_NAME.fullmatch(name))
