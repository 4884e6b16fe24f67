"""When a call may be sent again after its connection was lost, and how long to wait.

A request whose connection dies before its answer may or may not have been carried
out. Repeating it is safe only when carrying it out twice is the same as once: a read,
or a write the gateway deduplicates by its ``idempotencyKey`` (``chat.send`` answers a
repeat with ``in_flight``). Any other write is reported, never repeated.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

READ_METHODS = frozenset({
    "health",
    "status",
    "config.get",
    "config.schema",
    "config.schema.lookup",
    "agents.list",
    "agents.files.list",
    "agents.files.get",
    "sessions.list",
    "chat.history",
    "models.list",
    "device.pair.list",
    "node.list",
    "exec.approvals.get",
    "cron.list",
    "cron.status",
})


def is_safe_to_repeat(method: str, params: Mapping[str, Any] | None) -> bool:
    if method in READ_METHODS:
        return True
    key = (params or {}).get("idempotencyKey")
    return isinstance(key, str) and key != ""


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` counts the first try. The default rides out a gateway restart
    (2026.9.6 takes 6-7 s to say hello again) without holding a worker for long."""

    attempts: int = 5
    first_delay: float = 0.5
    max_delay: float = 4.0
    # A retryAfterMs or restartExpectedMs longer than this is left to the job's own retry.
    max_wait: float = 10.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        backoff: float = min(self.first_delay * 2.0 ** (attempt - 1), self.max_delay)
        # Jitter spreads the reconnects of many workers after one gateway restart.
        backoff *= random.uniform(0.8, 1.2)
        if retry_after is not None:
            backoff = max(backoff, retry_after)
        return min(backoff, self.max_wait)
