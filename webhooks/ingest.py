"""``POST /api/v1/boards/{board_id}/webhooks/{webhook_id}``: where outside services post events.

A plain Django view rather than DRF: the route is open (no authentication to run), takes
any content type, and is the busiest write path, so it skips DRF's request wrapping and
content negotiation. Errors still leave in the ``{detail, request_id}`` envelope. The
checks run in the order of the HTTP contract; the body size limit (413) is enforced
earlier by ``ops.middleware.BodySizeLimitMiddleware``, before the body is read at all.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse

from ops import throttle
from ops.client_ip import client_ip
from ops.errors import error_response
from webhooks import signatures
from webhooks.models import Webhook
from webhooks.payloads import captured_headers, decode_body
from webhooks.services import IngestedRequest, store_payload

THROTTLE_SCOPE = "webhook_ingest"
_WEBHOOK_FIELDS = ("id", "board_id", "enabled", "secret", "signature_header", "agent_id", "description")


def ingest(request: HttpRequest, board_id: UUID, webhook_id: UUID) -> HttpResponse:
    ip = client_ip(request)
    limited = throttle.hit(THROTTLE_SCOPE, ip)
    if not limited.allowed:
        return error_response(429, f"Request was throttled. Expected available in {limited.retry_after} seconds.",
                              headers={"Retry-After": str(limited.retry_after)})

    # One query finds the webhook on that board and the organization the activity row needs.
    webhook: Any = (Webhook.objects.filter(pk=webhook_id, board_id=board_id)
                    .annotate(organization_id=F("board__organization_id")).only(*_WEBHOOK_FIELDS).first())
    if webhook is None:
        return error_response(404, "Not found.")
    if not webhook.enabled:
        return error_response(410, "Webhook is disabled.")

    body = request.body
    if webhook.secret:
        presented = signatures.presented_signature(request.META, webhook.signature_header)
        verdict = signatures.verify(webhook.secret, body, presented)
        if verdict is signatures.Verdict.MISSING:
            return error_response(403, "Missing webhook signature header.")
        if verdict is signatures.Verdict.INVALID:
            return error_response(403, "Invalid webhook signature.")

    content_type = request.META.get("CONTENT_TYPE", "")
    stored = store_payload(webhook, webhook.organization_id, IngestedRequest(
        payload=decode_body(body), headers=captured_headers(request.META, webhook.signature_header),
        source_ip=ip, content_type=content_type))
    return JsonResponse({"ok": True, "board_id": str(webhook.board_id), "webhook_id": str(webhook.pk),
                         "payload_id": str(stored.pk)}, status=202)
