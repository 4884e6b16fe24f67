"""Fixtures of the webhook tests: webhooks on the shared cast's board, and a poster."""

from __future__ import annotations

import json

import pytest
from django.core.cache import caches
from django.test import Client

from webhooks import signatures
from webhooks.models import Webhook

SECRET = "s3cret-for-tests"


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate-limit counters are per process; every test starts with none."""
    caches["ratelimit"].clear()
    yield
    caches["ratelimit"].clear()


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
