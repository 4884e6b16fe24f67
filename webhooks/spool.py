"""Ingest while the database is away: a durable spool on local disk, drained once it is back.

An outside service that gets a 5xx retries later, or never; either way the event is late
or lost. So when storing a well-formed, well-signed request fails because the database
does not answer, ingest writes the request to a file in ``WEBHOOK_SPOOL_DIR`` and answers
202 with the payload id the stored row will have. The rules:

- **Durable before the 202.** Each request is one file, written under a temporary name,
  fsynced, renamed, and its folder fsynced. A request whose file could not be written
  (disk full, unwritable folder, less than ``MIN_FREE_BYTES`` free) is answered 503 with
  ``Retry-After``, never 202.
- **Verified before the 202.** The signature needs the webhook's secret, which lives in
  the database. Each process remembers the webhooks it found in the last
  ``RECENT_WEBHOOK_SECONDS``; while the database is away ingest answers from that memory
  (404/410/413/403 as usual), and a webhook not seen recently is answered 503 with
  ``Retry-After``, never accepted unverified. The drain checks the signature again
  against the secret of the day.
- **In order, once.** File names start with the arrival time, so the drain takes them
  oldest first. Each file carries the payload id; the stored row keeps it (and the
  arrival time as ``received_at``), and a file whose id is already stored is removed
  without storing it twice. A store that failed while committing is spooled under the
  same id, so it cannot be stored twice either.
- **Drained by the web processes.** The process that spooled starts a thread that waits
  for the database and drains the folder; any process that ingests normally, or answers
  a readiness probe, starts one when it finds files left (by a process that was stopped
  before it could drain). One drain at a time per folder (a ``flock``).
- **Kept when it cannot be stored.** A file that cannot be read, or whose webhook is gone,
  disabled or no longer accepts its signature, moves to ``rejected/`` with a warning;
  ``/readyz`` then reports the spool degraded until someone looks.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connections
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ops import database_outage
from ops.durable import fsync_path
from webhooks import signatures
from webhooks.models import Webhook, WebhookPayload
from webhooks.payloads import decode_body
from webhooks.services import IngestedRequest, store_payload

logger = logging.getLogger("webhooks.spool")

SUFFIX = ".json"
PARTIAL_SUFFIX = ".partial"
REJECTED = "rejected"
_LOCK_NAME = ".drain.lock"
FORMAT = 1

# A webhook found within this long can still be verified while the database is away.
# Short, since a secret rotated or a webhook disabled just before an outage is only seen
# again once the database answers (the drain checks again then).
RECENT_WEBHOOK_SECONDS = 600.0
RECENT_WEBHOOK_LIMIT = 10_000
# Below this much free space the spool refuses (503): the disk is also Postgres's and the logs'.
MIN_FREE_BYTES = 64 * 1024 * 1024
# How often a process that ingests normally looks for files another process left.
LOOK_FOR_LEFTOVERS_SECONDS = 5.0
DRAIN_RETRY_SECONDS = 1.0
# A partial file this old belongs to a process that died while writing it: that request
# was never answered 202.
PARTIAL_MAX_AGE_SECONDS = 3600.0

Found = tuple[Webhook, Any, bool]
FindWebhook = Callable[[UUID, UUID], Found | None]


class Unavailable(Exception):
    """Ingest can neither store nor spool this request now: 503 with ``Retry-After``."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def response(self, request: HttpRequest) -> HttpResponse:
        return database_outage.unavailable_response(request, self.detail)


NOT_SEEN_RECENTLY = ("The database is unavailable and this webhook cannot be verified until it is back; "
                     "try again shortly.")
CANNOT_SPOOL = "The database is unavailable and the request could not be kept for later; try again shortly."


# --- webhooks seen recently ---------------------------------------------------------------

class RecentWebhooks:
    """The lookups of this process's last ``RECENT_WEBHOOK_SECONDS``, newest last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[UUID, UUID], tuple[float, Found]] = OrderedDict()

    def remember(self, key: tuple[UUID, UUID], found: Found) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic(), found)
            self._entries.move_to_end(key)
            while len(self._entries) > RECENT_WEBHOOK_LIMIT:
                self._entries.popitem(last=False)

    def forget(self, key: tuple[UUID, UUID]) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def get(self, key: tuple[UUID, UUID]) -> Found | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > RECENT_WEBHOOK_SECONDS:
            return None
        return entry[1]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


recent = RecentWebhooks()


def _close_connections() -> None:
    """The drain thread's own connections: the next try opens new ones. (A request's
    broken connection is closed by Django when the request finishes.)"""
    with contextlib.suppress(Exception):
        connections.close_all()


def looked_up(find: FindWebhook, board_id: UUID, webhook_id: UUID) -> tuple[Found | None, bool]:
    """``find(board_id, webhook_id)``, and whether the database was away.

    While it is away: the webhook as this process last found it, or :class:`Unavailable`
    when it was not found recently (an unknown id cannot be told from one not seen)."""
    key = (board_id, webhook_id)
    try:
        found = find(board_id, webhook_id)
    except database_outage.UNAVAILABLE_ERRORS as exc:
        if not database_outage.is_unavailable(exc):
            raise
        database_outage.outage.noticed(exc)
        found = recent.get(key)
        if found is None:
            raise Unavailable(NOT_SEEN_RECENTLY) from exc
        return found, True
    if found is None:
        recent.forget(key)
    else:
        recent.remember(key, found)
    return found, False


# --- writing ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SpooledRequest:
    """One accepted request, as a spool file holds it."""

    payload_id: UUID
    board_id: UUID
    webhook_id: UUID
    received_at: datetime
    body: bytes
    signature: str | None
    headers: dict[str, str]
    source_ip: str
    content_type: str

    def to_json(self) -> bytes:
        return json.dumps({
            "format": FORMAT, "payload_id": str(self.payload_id), "board_id": str(self.board_id),
            "webhook_id": str(self.webhook_id), "received_at": self.received_at.isoformat(),
            "body": base64.b64encode(self.body).decode("ascii"), "signature": self.signature,
            "headers": self.headers, "source_ip": self.source_ip, "content_type": self.content_type,
        }, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> SpooledRequest:
        """Raises ``ValueError`` for anything that is not a whole spool record."""
        try:
            record = json.loads(data)
            if record.get("format") != FORMAT:
                raise ValueError(f"unknown spool format {record.get('format')!r}")
            received_at = parse_datetime(record["received_at"])
            if received_at is None:
                raise ValueError("received_at is not a time")
            signature = record["signature"]
            headers = record["headers"]
            if not isinstance(headers, dict) or not (signature is None or isinstance(signature, str)):
                raise ValueError("headers or signature have the wrong type")
            return cls(payload_id=UUID(record["payload_id"]), board_id=UUID(record["board_id"]),
                       webhook_id=UUID(record["webhook_id"]), received_at=received_at,
                       body=base64.b64decode(record["body"], validate=True), signature=signature,
                       headers={str(k): str(v) for k, v in headers.items()}, source_ip=str(record["source_ip"]),
                       content_type=str(record["content_type"]))
        except (KeyError, TypeError, AttributeError, binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError(f"not a spool record ({type(exc).__name__}: {exc})") from exc

    @property
    def file_name(self) -> str:
        # Fixed-width microseconds since the epoch first: names sort in arrival order.
        micros = int(self.received_at.timestamp() * 1_000_000)
        return f"{micros:017d}-{self.payload_id.hex}{SUFFIX}"


def spool_dir() -> Path:
    return Path(settings.WEBHOOK_SPOOL_DIR)


def write(spooled: SpooledRequest, directory: Path | None = None) -> Path:
    """Write one request durably: temporary file, fsync, rename, fsync of the folder.

    Raises ``OSError`` when any step fails (nothing is left under the final name then)."""
    directory = directory or spool_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    free = shutil.disk_usage(directory).free
    if free < MIN_FREE_BYTES:
        raise OSError(28, f"only {free} bytes free, below the spool's reserve of {MIN_FREE_BYTES}")
    final = directory / spooled.file_name
    partial = directory / (spooled.file_name + PARTIAL_SUFFIX)
    data = spooled.to_json()
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(partial, final)
        fsync_path(directory)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    return final


_write_failure_logged = False


StorePayload = Callable[..., WebhookPayload]


def store_or_spool(store: StorePayload, request: HttpRequest, webhook: Webhook, organization_id: Any,
                   incoming: IngestedRequest, *, target_found: bool, database_away: bool) -> UUID:
    """``store(webhook, organization_id, incoming, target_found=...)``, or spool the request
    when the database does not answer; the payload's id either way.

    ``database_away``: the lookup already failed, so storing is not tried again."""
    global _write_failure_logged
    # Fixed before the first try, so a copy spooled after a failed commit has the row's id.
    incoming = replace(incoming, payload_id=uuid.uuid4(), received_at=timezone.now())
    if not database_away:
        try:
            stored = store(webhook, organization_id, incoming, target_found=target_found)
        except database_outage.UNAVAILABLE_ERRORS as exc:
            if not database_outage.is_unavailable(exc):
                raise
            database_outage.outage.noticed(exc)
        else:
            drainer.look_for_leftovers()
            return stored.pk
    assert incoming.payload_id is not None and incoming.received_at is not None
    spooled = SpooledRequest(
        payload_id=incoming.payload_id, board_id=webhook.board_id, webhook_id=webhook.pk,
        received_at=incoming.received_at, body=request.body,
        signature=signatures.presented_signature(request.META, webhook.signature_header),
        headers=incoming.headers, source_ip=incoming.source_ip, content_type=incoming.content_type)
    try:
        write(spooled)
    except OSError as exc:
        if not _write_failure_logged:
            _write_failure_logged = True
            logger.error("Cannot write to the webhook spool %s (%s); answering 503 until it works.",
                         spool_dir(), exc)
        raise Unavailable(CANNOT_SPOOL) from exc
    _write_failure_logged = False
    database_outage.outage.count_spooled()
    drainer.wake()
    return incoming.payload_id


# --- reading and draining -----------------------------------------------------------------

def pending(directory: Path | None = None) -> list[Path]:
    """The spooled files, oldest first."""
    directory = directory or spool_dir()
    try:
        with os.scandir(directory) as entries:
            names = [entry.name for entry in entries if entry.name.endswith(SUFFIX) and entry.is_file()]
    except FileNotFoundError:
        return []
    return [directory / name for name in sorted(names)]


def rejected(directory: Path | None = None) -> list[Path]:
    folder = (directory or spool_dir()) / REJECTED
    try:
        return sorted(path for path in folder.iterdir() if path.is_file())
    except FileNotFoundError:
        return []


@dataclass
class DrainResult:
    stored: int = 0
    already_stored: int = 0
    rejected: int = 0

    @property
    def handled(self) -> int:
        return self.stored + self.already_stored + self.rejected


@contextlib.contextmanager
def _drain_lock(directory: Path) -> Iterator[bool]:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(directory / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


def _reject(path: Path, reason: str) -> None:
    folder = path.parent / REJECTED
    folder.mkdir(mode=0o700, exist_ok=True)
    os.rename(path, folder / path.name)
    logger.warning("Spooled webhook request %s cannot be stored (%s); moved to %s.", path.name, reason, folder)


def _remove_old_partials(directory: Path) -> None:
    cutoff = time.time() - PARTIAL_MAX_AGE_SECONDS
    with contextlib.suppress(FileNotFoundError), os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.endswith(PARTIAL_SUFFIX) and entry.stat().st_mtime < cutoff:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)


STORED = "stored"
ALREADY_STORED = "already stored"


def store_spooled(spooled: SpooledRequest) -> str:
    """Store one spooled request unless it already is: ``STORED``, ``ALREADY_STORED``, or
    why it cannot be stored. Raises the database's error when the database does not answer."""
    from webhooks.ingest import find_webhook  # ingest imports this module

    if WebhookPayload.objects.filter(pk=spooled.payload_id).exists():
        return ALREADY_STORED
    found = find_webhook(spooled.board_id, spooled.webhook_id)
    if found is None:
        return "its webhook no longer exists"
    webhook, organization_id, target_found = found
    if not webhook.enabled:
        return "its webhook is disabled"
    if webhook.secret and signatures.verify(webhook.secret, spooled.body, spooled.signature) \
            is not signatures.Verdict.VALID:
        return "its signature does not match the webhook's secret"
    try:
        store_payload(webhook, organization_id, IngestedRequest(
            payload=decode_body(spooled.body), headers=spooled.headers, source_ip=spooled.source_ip,
            content_type=spooled.content_type, payload_id=spooled.payload_id, received_at=spooled.received_at),
            target_found=target_found)
    except IntegrityError:
        # Another drain (of a copy of this folder, say) stored it a moment ago.
        if WebhookPayload.objects.filter(pk=spooled.payload_id).exists():
            return ALREADY_STORED
        raise
    return STORED


def drain(directory: Path | None = None) -> DrainResult | None:
    """Store every spooled request, oldest first, until the folder is empty.

    None when another drain holds the folder. Raises the database's error when the
    database stops answering; what was stored so far is removed from the spool."""
    directory = directory or spool_dir()
    result = DrainResult()
    with _drain_lock(directory) as locked:
        if not locked:
            return None
        _remove_old_partials(directory)
        try:
            while files := pending(directory):
                for path in files:
                    try:
                        spooled = SpooledRequest.from_json(path.read_bytes())
                    except FileNotFoundError:
                        continue
                    except ValueError as exc:
                        _reject(path, str(exc))
                        result.rejected += 1
                        continue
                    try:
                        outcome = store_spooled(spooled)
                    except database_outage.UNAVAILABLE_ERRORS:
                        raise
                    except Exception as exc:
                        # Not the database being away: retrying would fail the same way
                        # and hold up every file behind this one.
                        logger.exception("Storing spooled webhook request %s failed.", path.name)
                        outcome = f"storing it failed: {type(exc).__name__}: {exc}"
                    if outcome not in (STORED, ALREADY_STORED):
                        _reject(path, outcome)
                        result.rejected += 1
                        continue
                    # Removed only once the row is committed; a crash in between leaves a file
                    # whose id is stored, which the next drain removes without storing again.
                    path.unlink()
                    if outcome == STORED:
                        result.stored += 1
                    else:
                        result.already_stored += 1
        finally:
            if result.handled:
                logger.info("Drained the webhook spool: %d stored, %d already stored, %d rejected.",
                            result.stored, result.already_stored, result.rejected,
                            extra={"stored": result.stored, "already_stored": result.already_stored,
                                   "rejected": result.rejected})
    return result


class Drainer:
    """Runs :func:`drain` in a thread of this process until the spool is empty."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_look = 0.0
        self.enabled = True

    def wake(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name="webhook-spool-drain", daemon=True)
            self._thread.start()

    def look_for_leftovers(self) -> None:
        """Cheap enough for every ingest: looks at the folder every few seconds at most."""
        now = time.monotonic()
        if now - self._last_look < LOOK_FOR_LEFTOVERS_SECONDS:
            return
        self._last_look = now
        if pending():
            self.wake()

    def _run(self) -> None:
        logged = False
        try:
            while True:
                try:
                    drain()
                except database_outage.UNAVAILABLE_ERRORS:
                    _close_connections()
                except Exception:
                    # The folder itself is the trouble (gone, unreadable): once per run, not per retry.
                    if not logged:
                        logger.exception("Draining the webhook spool failed; trying again every %.0fs.",
                                         DRAIN_RETRY_SECONDS)
                        logged = True
                    _close_connections()
                if not pending():
                    return
                time.sleep(DRAIN_RETRY_SECONDS)
        finally:
            connections.close_all()

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)


drainer = Drainer()


def check_spool() -> dict[str, Any]:
    """A readiness check: requests waiting in the spool, or rejected from it, degrade readiness."""
    files = pending()
    left_aside = rejected()
    result: dict[str, Any] = {"ok": not files and not left_aside, "depth": len(files), "rejected": len(left_aside),
                              "path": str(spool_dir())}
    if files:
        oldest = files[0].name.split("-", 1)[0]
        with contextlib.suppress(ValueError):
            result["oldest_age_seconds"] = round(max(0.0, time.time() - int(oldest) / 1_000_000), 1)
        result["error"] = (f"{len(files)} webhook request(s) accepted while the database was away wait to be "
                           "stored; they are stored once the database answers.")
        drainer.wake()
    elif left_aside:
        result["error"] = (f"{len(left_aside)} spooled webhook request(s) could not be stored and were moved to "
                           f"{spool_dir() / REJECTED}; the log says why.")
    return result
