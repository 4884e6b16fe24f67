"""What a web process does while its database is away: 503 with ``Retry-After``, one log line.

A restarting or stopped Postgres makes every query raise ``OperationalError`` (or
``InterfaceError`` on a connection the server closed). Left alone, each request would be a
500 with a full traceback in the log. Instead the 500 handler answers 503 with
``Retry-After`` (the error envelope on API paths, a short plain page on console pages) and
marks the answer as logged, so Django writes no traceback. The process logs one WARNING
when it sees the outage start and one INFO line when a new connection succeeds again, with
how long it lasted and how many webhook requests it spooled meanwhile
(``webhooks.spool``). Other errors are untouched: they stay 500s with their traceback.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from ops.errors import error_response, wants_json_errors

logger = logging.getLogger("ops.database")

# What a database that does not answer raises: refused, closed by the server, shutting
# down or starting up. Integrity and programming errors are bugs, not outages.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)

# Long enough for a restart to finish, short enough that clients come back soon after.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_DETAIL = "The database is unavailable; try again shortly."


# SQLSTATEs raised as OperationalError that are about one statement, on a connection that
# still works: serialization failures and deadlocks (class 40), a cancelled statement.
_STATEMENT_FAILURES = ("40", "57014")


def is_unavailable(exc: BaseException | None) -> bool:
    if not isinstance(exc, UNAVAILABLE_ERRORS):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None) or ""
    return not sqlstate.startswith(_STATEMENT_FAILURES)


class Outage:
    """Whether this process is in a database outage, since when, and what it spooled."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.since: float | None = None
        self.spooled = 0

    @property
    def active(self) -> bool:
        return self.since is not None

    def noticed(self, exc: BaseException) -> None:
        with self._lock:
            if self.since is not None:
                return
            self.since, self.spooled = time.monotonic(), 0
        logger.warning("Database unavailable; answering 503 (webhook ingest spools to disk) until it is back "
                       "(%s: %s).", type(exc).__name__, " ".join(str(exc).split())[:200], extra={"pid": os.getpid()})

    def count_spooled(self) -> None:
        with self._lock:
            self.spooled += 1

    def ended(self) -> None:
        with self._lock:
            if self.since is None:
                return
            lasted, spooled = time.monotonic() - self.since, self.spooled
            self.since, self.spooled = None, 0
        logger.info("Database available again (outage lasted %.0fs; %d webhook request(s) spooled).",
                    lasted, spooled, extra={"outage_seconds": round(lasted, 1), "spooled": spooled, "pid": os.getpid()})


outage = Outage()


def connection_created(sender: Any, **kwargs: Any) -> None:
    """A ``connection_created`` receiver: after an outage every thread must reconnect, so
    the first connection that succeeds is the moment the database is back."""
    if outage.active:
        outage.ended()


def unavailable_response(request: HttpRequest, detail: str = UNAVAILABLE_DETAIL) -> HttpResponse:
    """503 with ``Retry-After``, in the envelope on API paths and as a short page elsewhere."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    response: HttpResponse
    if wants_json_errors(request):
        response = error_response(503, detail, headers=headers)
    else:
        response = HttpResponse(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Unavailable · Mission Control"
            "</title></head><body><h1>Unavailable for a moment</h1><p>The database does not answer. "
            "Try again in a few seconds.</p></body></html>", status=503, content_type="text/html; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Django logs every 5xx with its traceback unless the answer says it was logged; the
    # outage has its one line.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
