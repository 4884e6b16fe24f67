"""``POST /api/v1/boards/{board_id}/webhooks/{webhook_id}``: where outside services post events.

A plain Django view rather than DRF: the route is open (no authentication to run), takes
any content type, and is the busiest write path, so it skips DRF's request wrapping and
content negotiation. Errors still leave in the ``{detail, request_id}`` envelope. The
checks run in the order of the HTTP contract: 429, 404/410, 413, 403; a 410, 413 or 403
is counted in the webhook's refusal log (``webhooks.refusals``), which the console shows. The size is
measured by ``ops.body_limit.BodySizeLimitMiddleware`` (from ``Content-Length``, or
counting a chunked body to one byte past the limit); for this route it does not answer
but marks the request and hands on an empty body, and the 413 is answered here.
While the database is away, ``webhooks.spool`` answers the lookup and keeps the request.
"""

from __future__ import annotations

import functools
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from agents.models import Agent, Board
from ops import throttle
from ops.body_limit import body_over_limit, too_large_response
from ops.client_ip import client_ip
from ops.errors import error_response
from webhooks import refusals, signatures, spool
from webhooks.delivery import remember_target, target_from_row
from webhooks.models import Webhook
from webhooks.payloads import captured_headers, decode_body
from webhooks.services import IngestedRequest, store_payload

THROTTLE_SCOPE = "webhook_ingest"
_COLUMNS = ("enabled", "secret", "signature_header", "agent_id", "description")
_TARGET_COLUMNS = ("id", "gateway_id", "provisioned_at")


@functools.cache
def _lookup_sql(vendor: str) -> str:
    """:func:`find_webhook`'s SELECT, built once per database vendor."""
    quote = connection.ops.quote_name
    # Who is there to deliver to (webhooks.delivery.target_for): the webhook's agent on its
    # board, else the board's lead; with the facts that say whether it needs a push.
    agents = quote(Agent._meta.db_table)
    lead = ", ".join(
        f"(SELECT a.{quote(column)} FROM {agents} a WHERE a.{quote('board_id')} = w.{quote('board_id')} "
        f"AND a.{quote('is_board_lead')} ORDER BY a.{quote('name')} LIMIT 1)" for column in _TARGET_COLUMNS)
    own = ", ".join(f"own.{quote(column)}" for column in _TARGET_COLUMNS)
    sql = (f"SELECT {', '.join('w.' + quote(column) for column in _COLUMNS)}, b.{quote('organization_id')}, "
           f"{own}, {lead} FROM {quote(Webhook._meta.db_table)} w JOIN {quote(Board._meta.db_table)} b "
           f"ON b.{quote('id')} = w.{quote('board_id')} LEFT JOIN {agents} own ON own.{quote('id')} = "
           f"w.{quote('agent_id')} AND own.{quote('board_id')} = w.{quote('board_id')} "
           f"WHERE w.{quote('id')} = %s AND w.{quote('board_id')} = %s")
    return sql


def find_webhook(board_id: UUID, webhook_id: UUID) -> tuple[Webhook, Any, bool] | None:
    """The webhook with that id on that board, its board's organization id, and whether it
    has a target agent (whose push facts the webhook carries for ``store_payload``).

    Written as one plain SELECT: it runs on every ingest, and building the same query
    through the ORM costs several times what the database takes to answer it."""
    uuid_field = Webhook._meta.pk
    sql = _lookup_sql(connection.vendor)
    params = [uuid_field.get_db_prep_value(webhook_id, connection), uuid_field.get_db_prep_value(board_id, connection)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    enabled, secret, signature_header, agent_id, description, organization_id, *facts = row
    target = facts[:3] if facts[0] is not None else facts[3:]
    webhook = Webhook(id=webhook_id, board_id=board_id, enabled=bool(enabled), secret=secret,
                      signature_header=signature_header, description=description,
                      agent_id=uuid_field.to_python(agent_id) if agent_id is not None else None)
    webhook._state.adding = False
    remember_target(webhook, target_from_row(webhook, *target))
    return webhook, uuid_field.to_python(organization_id), target[0] is not None


def ingest(request: HttpRequest, board_id: UUID, webhook_id: UUID) -> HttpResponse:
    ip = client_ip(request)
    limited = throttle.hit(THROTTLE_SCOPE, ip)
    if not limited.allowed:
        return error_response(429, f"Request was throttled. Expected available in {limited.retry_after} seconds.",
                              headers={"Retry-After": str(limited.retry_after)})

    try:
        found, database_away = spool.looked_up(find_webhook, board_id, webhook_id)
    except spool.Unavailable as refusal:
        return refusal.response(request)
    if found is None:
        return error_response(404, "Not found.")
    webhook, organization_id, target_found = found
    if not webhook.enabled:
        refusals.record(webhook.pk, refusals.DISABLED, request, ip)
        return error_response(410, "Webhook is disabled.")
    if body_over_limit(request):
        refusals.record(webhook.pk, refusals.TOO_LARGE, request, ip)
        return too_large_response(settings.WEBHOOK_MAX_PAYLOAD_BYTES)

    body = request.body
    if webhook.secret:
        presented = signatures.presented_signature(request.META, webhook.signature_header)
        verdict = signatures.verify(webhook.secret, body, presented)
        if verdict is signatures.Verdict.MISSING:
            refusals.record(webhook.pk, refusals.SIGNATURE_MISSING, request, ip)
            return error_response(403, "Missing webhook signature header.")
        if verdict is signatures.Verdict.INVALID:
            refusals.record(webhook.pk, refusals.SIGNATURE_INVALID, request, ip)
            return error_response(403, "Invalid webhook signature.")

    incoming = IngestedRequest(payload=decode_body(body), headers=captured_headers(request.META, webhook.signature_header),
                               source_ip=ip, content_type=request.META.get("CONTENT_TYPE", ""))
    try:
        try:
            payload_id = spool.store_or_spool(store_payload, request, webhook, organization_id, incoming,
                                              target_found=target_found, database_away=database_away)
        except IntegrityError:
            # A row the lookup read went away before the commit: most often the target agent,
            # deleted in between. Looked up again, the event goes to whoever is the target now;
            # a webhook deleted in between is gone (404). A second failure is a real fault.
            found = find_webhook(board_id, webhook_id)
            if found is None:
                return error_response(404, "Not found.")
            webhook, organization_id, target_found = found
            payload_id = spool.store_or_spool(store_payload, request, webhook, organization_id, incoming,
                                              target_found=target_found, database_away=False)
    except spool.Unavailable as refusal:
        return refusal.response(request)
    return JsonResponse({"ok": True, "board_id": str(webhook.board_id), "webhook_id": str(webhook.pk),
                         "payload_id": str(payload_id)}, status=202)
