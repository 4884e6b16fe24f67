"""What a webhook refused: how many requests for each reason, and the last few of them.

Ingest refuses a request for a missing or wrong signature (403), a body over the limit
(413) or a disabled webhook (410). Those requests store nothing, so without this log the
person who set the sender up never learns that its events bounce. The log lives in the
default cache (Redis in production, shared by every web process), not in the database:
a sender with a wrong secret retries, and a burst of refusals must not become a burst of
writes beside the accepted requests. It is bounded: counters per reason and the last
``RECENT`` refusals per webhook, kept ``KEEP_SECONDS`` after the last one. The accepted
path never touches it.

Counters are exact where the cache increments atomically (Redis; the in-process cache of
a single process). The recent list is read and written back, so two refusals in the same
instant may keep only one of the two lines; the counters still count both.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

logger = logging.getLogger("webhooks.refusals")

SIGNATURE_MISSING = "signature_missing"
SIGNATURE_INVALID = "signature_invalid"
TOO_LARGE = "too_large"
DISABLED = "disabled"
# In the order the console lists them, with the words it uses.
REASONS = {
    SIGNATURE_MISSING: "No signature",
    SIGNATURE_INVALID: "Wrong signature",
    TOO_LARGE: "Body too large",
    DISABLED: "Webhook disabled",
}
RECENT = 20
KEEP_SECONDS = 30 * 86_400
USER_AGENT_MAX = 200


@dataclass(frozen=True)
class Refusal:
    at: datetime | None
    reason: str
    source_ip: str
    content_length: int | None
    user_agent: str

    @property
    def reason_text(self) -> str:
        return REASONS.get(self.reason, self.reason)


@dataclass(frozen=True)
class RefusalLog:
    counts: dict[str, int]
    recent: list[Refusal]
    since: datetime | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def rows(self) -> list[tuple[str, str, int]]:
        """(reason, words, count) of every reason, in the console's order."""
        return [(reason, words, self.counts.get(reason, 0)) for reason, words in REASONS.items()]


def _key(webhook_id: uuid.UUID | str, part: str) -> str:
    return f"webhook-refusals:{webhook_id}:{part}"


def _content_length(request: HttpRequest) -> int | None:
    """The size the sender declared; over the limit, the body was never read and the
    request's own Content-Length no longer says it."""
    if getattr(request, "body_over_limit", False):
        declared = getattr(request, "declared_body_length", None)
        return declared if isinstance(declared, int) else None
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def record(webhook_id: uuid.UUID | str, reason: str, request: HttpRequest, source_ip: str) -> None:
    """Counts one refused request and keeps its line. Never raises: a cache that is away
    costs the log a line, not the sender its answer."""
    now = timezone.now()
    try:
        cache.add(_key(webhook_id, "since"), now.isoformat(), KEEP_SECONDS)
        count_key = _key(webhook_id, reason)
        if not cache.add(count_key, 1, KEEP_SECONDS):
            cache.incr(count_key)
            cache.touch(count_key, KEEP_SECONDS)
        recent_key = _key(webhook_id, "recent")
        line = {"at": now.isoformat(), "reason": reason, "source_ip": source_ip,
                "content_length": _content_length(request),
                "user_agent": request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]}
        lines = cache.get(recent_key) or []
        cache.set(recent_key, [line, *lines][:RECENT], KEEP_SECONDS)
        cache.touch(_key(webhook_id, "since"), KEEP_SECONDS)
    except Exception:  # noqa: BLE001 - a diagnostic log must never turn a refusal into a 500
        logger.warning("could not record a refused webhook request", exc_info=True)


def _refusal(line: Any) -> Refusal | None:
    if not isinstance(line, dict):
        return None
    length = line.get("content_length")
    return Refusal(at=parse_datetime(str(line.get("at") or "")), reason=str(line.get("reason", "")),
                   source_ip=str(line.get("source_ip") or ""),
                   content_length=length if isinstance(length, int) else None,
                   user_agent=str(line.get("user_agent") or ""))


def log_for(webhook_id: uuid.UUID | str) -> RefusalLog:
    """The counts and recent refusals of one webhook (one cache round trip)."""
    keys = [_key(webhook_id, part) for part in (*REASONS, "recent", "since")]
    try:
        found = cache.get_many(keys)
    except Exception:  # noqa: BLE001 - the page shows an empty log rather than fail
        logger.warning("could not read the refused webhook requests", exc_info=True)
        found = {}
    counts = {reason: int(found.get(_key(webhook_id, reason)) or 0) for reason in REASONS}
    recent = [refusal for line in found.get(_key(webhook_id, "recent")) or [] if (refusal := _refusal(line))]
    since = parse_datetime(str(found.get(_key(webhook_id, "since")) or ""))
    return RefusalLog(counts=counts, recent=recent, since=since)


def forget(webhook_id: uuid.UUID | str) -> None:
    """Drops the log of a deleted webhook."""
    try:
        cache.delete_many([_key(webhook_id, part) for part in (*REASONS, "recent", "since")])
    except Exception:  # noqa: BLE001
        logger.warning("could not drop the refused webhook requests", exc_info=True)
