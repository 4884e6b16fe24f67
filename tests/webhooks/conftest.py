"""Fixtures of the webhook tests: webhooks on the shared cast's board, and a poster."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.tasks import TaskResultStatus
from django.test import Client
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from webhooks import signatures
from webhooks.models import Webhook
from webhooks.notifiers import Outcome, use_notifier

SECRET = "s3cret-for-tests"


@pytest.fixture
def lifted_rate_limits() -> tuple[str, ...]:
    """Agents may call as often as a test needs (the agent_auth limit has its own tests);
    webhook_ingest keeps its real limit. Counters start empty (tests/conftest.py)."""
    return ("agent_auth", "agent_requests")


@pytest.fixture
def webhook(board):
    return Webhook.objects.create(board=board, description="Triage GitHub pushes.")


@pytest.fixture
def signed_webhook(board):
    return Webhook.objects.create(board=board, description="Signed events.", secret=SECRET)


@pytest.fixture
def ingest_client():
    # Errors must come back as the answer a sender sees, not as an exception in the test.
    return Client(raise_request_exception=False, enforce_csrf_checks=True)


def ingest_path(webhook) -> str:
    return f"/api/v1/boards/{webhook.board_id}/webhooks/{webhook.id}"


def post(client, webhook, body: bytes | str | dict = b"{}", *, content_type: str = "application/json",
         headers: dict[str, str] | None = None, path: str | None = None, ip: str | None = None):
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    extra = {"headers": headers or {}}
    if ip is not None:
        extra["REMOTE_ADDR"] = ip
    return client.post(path or ingest_path(webhook), data=body, content_type=content_type, **extra)


def signed_headers(body: bytes, *, header: str = "X-Hub-Signature-256", prefix: str = "sha256=",
                   secret: str = SECRET, upper: bool = False) -> dict[str, str]:
    digest = signatures.sign(secret, body)
    return {header: prefix + (digest.upper() if upper else digest)}


def run_worker() -> int:
    """Run every job that is due, as ``manage.py db_worker --batch`` would; returns how many ran."""
    before = DBTaskResult.objects.exclude(status=TaskResultStatus.READY).count()
    # The worker closes connections that are not in autocommit mode between jobs; inside a
    # test's transaction that would close the test's own connection.
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        Worker(queue_names=["default"], interval=0, batch=True, backend_name="default", startup_delay=False,
               max_tasks=None, worker_id="test-worker", excluded_queue_names=[]).run()
    return DBTaskResult.objects.exclude(status=TaskResultStatus.READY).count() - before


def make_retries_due() -> None:
    """Time passes: every scheduled retry is due now."""
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=timezone.now() - timedelta(seconds=1))


class PushesNothing:
    """A notifier for which every attempt needs the worker, and that then leaves the event
    for pick-up: what the gateway notifier is for an agent on a gateway, without a gateway."""

    name = "pushes_nothing"

    def needs_push(self, agent) -> bool:
        return True

    def notify(self, event) -> Outcome:
        return Outcome.AWAITING_PICKUP


@pytest.fixture
def pushing():
    """Deliveries get a job even for a target on no gateway (tests of the job's own rules)."""
    previous = use_notifier(PushesNothing())
    yield
    use_notifier(previous)
