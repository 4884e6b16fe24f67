"""Change stamps: how an open console page learns, cheaply, that what it shows has changed.

Every change in the domain writes an activity event (``agents.activity``). When the
transaction that wrote it commits, the stamps of the event's board and organization move
on by one (:func:`bump`): a row per scope in ``agents_changestamp`` whose ``version`` only
grows. A live page holds a *ticket* naming the scopes it shows (its board, or the
organizations a list covers), signed with the secret key and valid for
``TICKET_SECONDS``; it asks ``/live/changes?t=<ticket>&v=<last version>`` every couple of
seconds. That question is answered before the console's middleware runs (no session, no
user, no CSRF or CSP work, one indexed SELECT), 204 while nothing changed and 200 with the
new version otherwise; only then does the page ask its fragment, through the normal,
authenticated live route, whose ETag decides whether anything it shows really changed.

What the ticket reveals to someone who keeps it after signing out or losing access is only
that *something* changed in a scope they could see when it was issued, for at most
``TICKET_SECONDS``; the fragments themselves are always checked against the session.
Changes that are not writes (an agent going offline because time passed) reach pages
through the full check they make every ``FULL_CHECK_SECONDS`` anyway.

Bumps run after the commit, in one statement for all the scopes of a transaction, in a
fixed order (two bumping transactions never wait on each other in a cycle). A bump that
fails (the database went away between the commit and it) is logged and costs only the
live update: the page catches up with its next full check. Webhook ingest is the one
exception (:func:`bump_statement`): its stamps move in the same statement as its rows, a
round trip and a commit less on the busiest write path. The stamp rows are then locked
from that statement to the commit that follows it at once, and in the same fixed order.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.core import signing
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse

from agents.models import ChangeStamp

logger = logging.getLogger("agents.live")

PATH = "/live/changes"
TICKET_SECONDS = 15 * 60
# How often a page asks the change question, and how often it checks its fragment anyway.
POLL_SECONDS = 1.5
FULL_CHECK_SECONDS = 120
_SALT = "agents.live.ticket"
_PENDING = "_live_pending_scopes"
MAX_SCOPES = 50


def board_scope(board_id: Any) -> str:
    return "b" + uuid.UUID(str(board_id)).hex


def organization_scope(organization_id: Any) -> str:
    return "o" + uuid.UUID(str(organization_id)).hex


def scopes_of(*, board_id: Any = None, organization_id: Any = None) -> list[str]:
    return ([board_scope(board_id)] if board_id is not None else []) + (
        [organization_scope(organization_id)] if organization_id is not None else [])


# ---- writing: stamps move on after a commit ------------------------------------------------

def bump(scopes: Iterable[str], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Move the stamps of ``scopes`` on once the current transaction commits (at once outside one)."""
    wanted = {scope for scope in scopes if scope}
    if not wanted:
        return
    connection = connections[using]
    if not connection.in_atomic_block:
        _write(wanted, using)
        return
    pending: set[str] | None = getattr(connection, _PENDING, None)
    if pending is None:
        pending = set()
        setattr(connection, _PENDING, pending)
    pending.update(wanted)
    # One callback per call; the first to run after the commit writes every scope gathered
    # and the others find nothing left. Scopes of a rolled-back transaction wait for the next
    # commit: a needless bump costs a page one fragment check, never a missed change.
    transaction.on_commit(functools.partial(_flush, using), using=using, robust=True)


def bump_statement(scopes: Iterable[str], *, using: str = DEFAULT_DB_ALIAS) -> tuple[str, list[str]]:
    """The upsert that moves ``scopes`` on, as SQL and parameters, for a writer that runs it
    inside its own transaction instead of after it (webhook ingest: ``webhooks.rows``)."""
    ordered = sorted({scope for scope in scopes if scope})
    if not ordered:
        raise ValueError("bump_statement needs at least one scope")
    return _upsert_sql(connections[using].vendor, len(ordered)), ordered


def _flush(using: str) -> None:
    connection = connections[using]
    pending: set[str] | None = getattr(connection, _PENDING, None)
    if not pending:
        return
    scopes = set(pending)
    pending.clear()
    _write(scopes, using)


@functools.cache
def _upsert_sql(vendor: str, count: int) -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    table = quote(ChangeStamp._meta.db_table)
    values = ", ".join(["(%s, 1)"] * count)
    return (f"INSERT INTO {table} ({quote('scope')}, {quote('version')}) VALUES {values} "
            f"ON CONFLICT ({quote('scope')}) DO UPDATE SET {quote('version')} = {table}.{quote('version')} + 1")


class _Failing:
    """Whether bumps are failing in this process: a database outage is logged once (one line,
    no traceback; ``ops.database`` says when it starts and ends), not once per change."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = False

    def failed(self, exc: DatabaseError) -> None:
        with self.lock:
            if self.now:
                return
            self.now = True
        logger.warning("Could not move the live-change stamps (%s: %s); open pages catch up at their next full "
                       "check.", type(exc).__name__, str(exc).strip()[:200])

    def succeeded(self) -> None:
        if self.now:
            with self.lock:
                self.now = False
            logger.info("Live-change stamps move again.")


_failing = _Failing()


def _write(scopes: set[str], using: str) -> None:
    ordered = sorted(scopes)
    connection = connections[using]
    try:
        with connection.cursor() as cursor:
            cursor.execute(_upsert_sql(connection.vendor, len(ordered)), ordered)
    except DatabaseError as exc:
        _failing.failed(exc)
        return
    _failing.succeeded()


# ---- reading --------------------------------------------------------------------------------

@functools.cache
def _select_sql(vendor: str, count: int) -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    marks = ", ".join(["%s"] * count)
    return (f"SELECT COALESCE(SUM({quote('version')}), 0) FROM {quote(ChangeStamp._meta.db_table)} "
            f"WHERE {quote('scope')} IN ({marks})")


def version(scopes: list[str], *, using: str = DEFAULT_DB_ALIAS) -> str:
    """One number that grows whenever any of ``scopes`` moves on (versions never go down)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(_select_sql(connection.vendor, len(scopes)), scopes)
        row = cursor.fetchone()
    return str(row[0] if row else 0)


# ---- tickets --------------------------------------------------------------------------------

def ticket(scopes: Iterable[str], *, now: float | None = None) -> str:
    """A signed ticket for ``scopes`` (sorted, at most ``MAX_SCOPES``), valid for ``TICKET_SECONDS``."""
    chosen = sorted(set(scopes))[:MAX_SCOPES]
    expires = int((now if now is not None else time.time()) + TICKET_SECONDS)
    return signing.Signer(salt=_SALT).sign(f"{expires}.{'-'.join(chosen)}")


class BadTicket(Exception):
    pass


def read_ticket(value: str, *, now: float | None = None) -> list[str]:
    """The scopes of a valid, unexpired ticket; :class:`BadTicket` otherwise."""
    try:
        unsigned = signing.Signer(salt=_SALT).unsign(value)
    except signing.BadSignature:
        raise BadTicket("The live ticket is not valid.") from None
    expires, _, joined = unsigned.partition(".")
    if not expires.isdigit() or int(expires) < (now if now is not None else time.time()):
        raise BadTicket("The live ticket has expired.")
    scopes = [scope for scope in joined.split("-") if scope]
    if not scopes:
        raise BadTicket("The live ticket names nothing to watch.")
    return scopes


# ---- the question, answered before the console's middleware --------------------------------

class LiveChangesMiddleware:
    """Answers ``GET /live/changes`` itself: it runs first in ``settings.MIDDLEWARE``, so the
    busiest route of an open console costs one signature check and one SELECT."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info != PATH:
            return self.get_response(request)
        return changes(request)


def _no_store(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = "no-store"
    return response


def changes(request: HttpRequest) -> HttpResponseBase:
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
        response["Allow"] = "GET, HEAD"
        return _no_store(response)
    try:
        scopes = read_ticket(request.GET.get("t", ""))
    except BadTicket as refusal:
        # The page falls back to its full check, whose answer carries a fresh ticket.
        return _no_store(JsonResponse({"detail": str(refusal)}, status=410))
    try:
        current = version(scopes)
    except DatabaseError:
        return _no_store(JsonResponse({"detail": "The database is not answering; try again shortly."}, status=503,
                                      headers={"Retry-After": "5"}))
    if request.GET.get("v") == current:
        return _no_store(HttpResponse(status=204))
    return _no_store(HttpResponse(current, content_type="text/plain; charset=utf-8"))
