"""Log formatting: every line carries the request id; ``LOG_FORMAT=json`` for log shippers."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from ops.request_context import get_request_id

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is data.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            # Django logs some 5xx answers after the middleware has returned, so the
            # context is gone; those records carry the request itself.
            request = getattr(record, "request", None)
            record.request_id = get_request_id() or getattr(request, "request_id", None) or "-"
        return True


# Django attaches the request object to its records; its repr adds nothing to a log line.
_DROPPED_EXTRAS = frozenset({"request"})


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items()
            if key not in _STANDARD_ATTRIBUTES and key not in _DROPPED_EXTRAS}


class TextFormatter(logging.Formatter):
    """``time level logger [request id] message key=value ...``."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        line = f"{stamp} {record.levelname} {record.name} [{getattr(record, 'request_id', '-')}] {record.getMessage()}"
        extras = _extra_fields(record)
        if extras:
            line += " " + " ".join(f"{key}={value}" for key, value in extras.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or get_request_id(),
            "message": record.getMessage(),
        }
        data.update(_extra_fields(record))
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)
