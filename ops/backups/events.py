"""Activity events for operator operations, sent as a signal so ops imports no other app."""

from __future__ import annotations

import logging
from typing import Any

from ops.signals import operation_recorded

logger = logging.getLogger("ops.backups")


def record_operation(event_type: str, message: str, data: dict[str, Any]) -> None:
    """Never fails the operation: a backup that worked is not undone by a failed audit write."""
    results = operation_recorded.send_robust(sender="ops", event_type=event_type, message=message, data=data)
    for receiver, result in results:
        if isinstance(result, Exception):
            logger.warning("Recording %s through %r failed: %s", event_type, receiver, result)
