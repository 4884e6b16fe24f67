"""Webhooks in the console: create one (its secret shown once), copy its endpoint, change,
switch on and off or delete it, read what it received and what it refused, replay a delivery.

Changes go through ``webhooks.services`` and are validated by the API's write serializer,
so the console and the API accept and refuse the same things.
"""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F, Func, IntegerField, OuterRef, Prefetch, Subquery
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import ValidationError

from agents import access
from agents.console import notes
from agents.console.common import admin_only, forbidden, page, paginate, validation_text
from agents.console.forms import RuleForm, set_choices
from agents.console.notes import Named, Names, linked
from agents.http import ConsoleRequest
from agents.models import Agent, Board, BoardMemory, User
from missioncontrol.lookups import get_or_404
from webhooks import refusals, services
from webhooks.delivery import WAITING_REASON, has_target
from webhooks.models import Webhook, WebhookDelivery, WebhookPayload
from webhooks.serializers import WebhookWriteSerializer

SECRET_BYTES = 32
FAILING = (WebhookDelivery.Status.FAILED, WebhookDelivery.Status.DEAD)


class WebhookForm(RuleForm):
    api_fields = {"agent_id": "agent"}

    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000,
        label="Instruction for the agent",
        help_text="What the agent should do with each event, e.g. “Triage new GitHub issues into the inbox.”")
    agent = forms.ModelChoiceField(queryset=Agent.objects.none(), required=False, label="Target agent",
                                   empty_label="The board lead",
                                   help_text="Who receives the events.")
    require_signature = forms.BooleanField(
        required=False, initial=True, label="Require a signature",
        help_text="A secret is generated and shown once; senders sign each body with HMAC-SHA256 of it.")
    signature_header = forms.CharField(
        required=False, max_length=100, label="Signature header",
        help_text="Leave empty to accept X-Hub-Signature-256 (GitHub) or X-Webhook-Signature.")

    def __init__(self, *args: Any, board: Board, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "agent", Agent.objects.filter(board=board).order_by("name"))


def _count(queryset: Any) -> Subquery:
    """``SELECT COUNT(*)`` of ``queryset`` as a subquery (a Func, so Django adds no GROUP BY)."""
    return Subquery(queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")[:1],
                    output_field=IntegerField())


def _board(request: ConsoleRequest, board_id: Any, *, admin: bool = False) -> Board:
    return access.get_board_for(request.user, board_id, admin=admin)


def _webhook(board: Board, webhook_id: Any) -> Webhook:
    webhook = get_or_404(Webhook.objects.select_related("agent").filter(board=board), webhook_id)
    webhook.board = board
    return webhook


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def webhooks(request: ConsoleRequest, board_id: Any) -> HttpResponse:
    board = _board(request, board_id)
    can_manage = access.is_admin(request.user, board.organization_id)
    form = WebhookForm(request.POST or None, board=board)
    status = 200
    if request.method == "POST":
        if not can_manage:
            return forbidden(request, admin_only("create a webhook"))
        if form.is_valid():
            secret = secrets.token_urlsafe(SECRET_BYTES) if form.cleaned_data["require_signature"] else ""
            data = {"description": form.cleaned_data["description"], "secret": secret,
                    "signature_header": form.cleaned_data["signature_header"],
                    "agent_id": form.cleaned_data["agent"].pk if form.cleaned_data["agent"] else None}
            serializer = WebhookWriteSerializer(data=data, board=board)
            if serializer.is_valid():
                webhook = services.create_webhook(board, request.user, **serializer.validated_data)
                response = page(request, "webhooks/created.html", "boards", {
                    "board": board, "webhook": webhook, "secret": secret,
                    "endpoint_url": settings.BASE_URL + webhook.endpoint_path,
                    "header": webhook.signature_header or "X-Hub-Signature-256"})
                add_never_cache_headers(response)
                return response
            form.add_api_errors(serializer.errors)
        status = 422
    # Correlated subqueries, each served by an index, rather than one join of every payload
    # with every delivery: a busy webhook has many thousands of both.
    payloads = WebhookPayload.objects.filter(webhook=OuterRef("pk"))
    failing = WebhookDelivery.objects.filter(payload__webhook=OuterRef("pk"), status__in=FAILING)
    hooks = (Webhook.objects.filter(board=board).select_related("agent")
             .annotate(payload_count=_count(payloads),
                       last_received=Subquery(payloads.order_by("-received_at").values("received_at")[:1]),
                       troubled=_count(failing))
             .order_by("-created_at"))
    return page(request, "webhooks/list.html", "boards", {
        "board": board, "page_obj": paginate(request, hooks), "form": form if can_manage else None,
        "base_url": settings.BASE_URL}, status=status)


@login_required
def webhook_detail(request: ConsoleRequest, board_id: Any, webhook_id: Any) -> HttpResponse:
    board = _board(request, board_id)
    webhook = _webhook(board, webhook_id)
    failing_only = request.GET.get("show") == "failing"
    payloads = WebhookPayload.objects.filter(webhook=webhook)
    if failing_only:
        payloads = payloads.filter(deliveries__status__in=FAILING).distinct()
    payloads = (payloads
                .prefetch_related(Prefetch("deliveries", queryset=WebhookDelivery.objects.select_related("agent")
                                           .order_by("-created_at")))
                .order_by("-received_at"))
    return page(request, "webhooks/detail.html", "boards", {
        "board": board, "webhook": webhook, "page_obj": paginate(request, payloads, per_page=20),
        "endpoint_url": settings.BASE_URL + webhook.endpoint_path,
        "can_manage": access.is_admin(request.user, board.organization_id),
        "failing_only": failing_only, "has_target": has_target(webhook), "waiting_reason": WAITING_REASON,
        "refusals": refusals.log_for(webhook.pk), "max_payload_bytes": settings.WEBHOOK_MAX_PAYLOAD_BYTES,
    })


def _secret_page(request: ConsoleRequest, board: Board, webhook: Webhook, secret: str, *,
                 rotated: bool) -> HttpResponse:
    """The endpoint and a new secret, shown this once (never cached)."""
    response = page(request, "webhooks/created.html", "boards", {
        "board": board, "webhook": webhook, "secret": secret, "rotated": rotated,
        "endpoint_url": settings.BASE_URL + webhook.endpoint_path,
        "header": webhook.signature_header or "X-Hub-Signature-256"})
    add_never_cache_headers(response)
    return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_edit(request: ConsoleRequest, board_id: Any, webhook_id: Any) -> HttpResponse:
    board = _board(request, board_id)
    if not access.is_admin(request.user, board.organization_id):
        return forbidden(request, admin_only("change a webhook"))
    webhook = _webhook(board, webhook_id)
    form = WebhookForm(request.POST or None, board=board, initial={
        "description": webhook.description, "agent": webhook.agent_id, "require_signature": webhook.has_secret,
        "signature_header": webhook.signature_header})
    form.fields["require_signature"].help_text = (
        "Unticked, the webhook accepts unsigned events. Ticked on a webhook without one, a secret is generated "
        "and shown once.")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data: dict[str, Any] = {"description": form.cleaned_data["description"],
                                    "signature_header": form.cleaned_data["signature_header"],
                                    "agent_id": form.cleaned_data["agent"].pk if form.cleaned_data["agent"] else None}
            new_secret = ""
            if not form.cleaned_data["require_signature"]:
                data["secret"] = ""
            elif not webhook.has_secret:
                new_secret = data["secret"] = secrets.token_urlsafe(SECRET_BYTES)
            serializer = WebhookWriteSerializer(data=data, board=board, partial=True)
            if serializer.is_valid():
                services.update_webhook(webhook, request.user, **serializer.validated_data)
                if new_secret:
                    return _secret_page(request, board, webhook, new_secret, rotated=True)
                messages.success(request, "Webhook saved.")
                return redirect("webhooks_console:webhook", board_id=board.pk, webhook_id=webhook.pk)
            form.add_api_errors(serializer.errors)
        status = 422
    return page(request, "webhooks/edit.html", "boards", {"board": board, "webhook": webhook, "form": form},
                status=status)


@login_required
@require_POST
def webhook_delete(request: ConsoleRequest, board_id: Any, webhook_id: Any) -> HttpResponse:
    board = _board(request, board_id)
    if not access.is_admin(request.user, board.organization_id):
        return forbidden(request, admin_only("delete a webhook"))
    webhook = _webhook(board, webhook_id)
    if request.POST.get("confirm") != "delete":
        messages.error(request, "Tick the box to confirm: deleting a webhook deletes what it received.")
        return redirect("webhooks_console:webhook", board_id=board.pk, webhook_id=webhook.pk)
    services.delete_webhook(webhook, request.user)
    messages.success(request, "Webhook deleted with its payloads. Senders now get 404 Not Found.")
    return redirect("webhooks_console:webhooks", board_id=board.pk)


@login_required
@require_POST
def webhook_toggle(request: ConsoleRequest, board_id: Any, webhook_id: Any) -> HttpResponse:
    board = _board(request, board_id)
    if not access.is_admin(request.user, board.organization_id):
        return forbidden(request, admin_only("switch a webhook on or off"))
    webhook = _webhook(board, webhook_id)
    enabled = request.POST.get("enabled") == "true"
    services.update_webhook(webhook, request.user, enabled=enabled)
    messages.success(request, "Webhook enabled: it accepts events again." if enabled
                     else "Webhook disabled: senders now get 410 Gone.")
    return redirect("webhooks_console:webhook", board_id=board.pk, webhook_id=webhook.pk)


@login_required
@require_POST
def payload_replay(request: ConsoleRequest, board_id: Any, webhook_id: Any, payload_id: Any) -> HttpResponse:
    board = _board(request, board_id)
    if not access.is_admin(request.user, board.organization_id):
        return forbidden(request, admin_only("replay a delivery"))
    webhook = _webhook(board, webhook_id)
    payload = get_or_404(WebhookPayload.objects.filter(webhook=webhook), payload_id)
    payload.webhook, payload.board = webhook, board
    try:
        delivery = services.redeliver(payload, request.user)
    except ValidationError as exc:
        messages.error(request, validation_text(exc.detail))
    else:
        if delivery.status == WebhookDelivery.Status.WAITING:
            messages.warning(request, "Replayed, but there is nobody to deliver to: the webhook names no agent and "
                                      "the board has no lead. The delivery waits until one is set.")
        else:
            messages.success(request, "Delivery replayed: the worker tries again now.")
    return redirect("webhooks_console:webhook", board_id=board.pk, webhook_id=webhook.pk)


@login_required
@require_POST
def webhook_new_secret(request: ConsoleRequest, board_id: Any, webhook_id: Any) -> HttpResponse:
    """A fresh secret, shown once; senders signing with the old one are refused from now on."""
    board = _board(request, board_id)
    if not access.is_admin(request.user, board.organization_id):
        return forbidden(request, admin_only("change a webhook's secret"))
    webhook = _webhook(board, webhook_id)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    services.update_webhook(webhook, request.user, secret=secret)
    return _secret_page(request, board, webhook, secret, rotated=True)


# --- the board-memory page: webhooks and their event notes by name --------------------------
# Registered when this module loads, which the URL configuration does before any page is served.

# The shape webhooks.payloads.memory_note writes: a header naming the webhook and payload,
# the configured instruction, then the sender's data between fence lines.
_NOTE = re.compile(
    r"\AWebhook event received \(webhook (?P<webhook>[0-9a-fA-F-]{36}), payload (?P<payload>[0-9a-fA-F-]{36})\)\.\n"
    r"Instruction from the board's configuration: (?P<instruction>.*?)\n.*?"
    r"^----- BEGIN [^\n]* -----\n(?P<data>.*)\n----- END [^\n]* -----\Z", re.S | re.M)


def webhook_name(webhook: Webhook) -> str:
    return f"“{str(webhook)[:60]}”" if webhook.description else "webhook"


def webhook_names(ids: set[uuid.UUID], user: User) -> Names:
    names: Names = {}
    boards = access.visible_boards(user)
    for webhook in Webhook.objects.filter(pk__in=ids, board__in=boards).only("id", "board_id", "description"):
        names[webhook.pk] = Named(webhook_name(webhook), reverse("webhooks_console:webhook",
                                                                 args=[webhook.board_id, webhook.pk]))
    for pk, webhook_id, board_id in (WebhookPayload.objects.filter(pk__in=ids - names.keys(), board__in=boards)
                                     .values_list("pk", "webhook_id", "board_id")):
        names[pk] = Named("its payload", reverse("webhooks_console:webhook", args=[board_id, webhook_id])
                          + f"#payload-{pk}")
    return names


def present_event_note(note: BoardMemory, names: Names) -> SafeString | None:
    """A webhook event as a sentence naming its webhook, its instruction and its data; the
    agents' own reading directions (and the ids in them) stay out of the console."""
    found = _NOTE.match(note.content or "")
    if found is None:
        return None
    webhook = names.get(uuid.UUID(found["webhook"]))
    payload = names.get(uuid.UUID(found["payload"]))
    heading = (format_html("Event received by the webhook {}", linked(webhook)) if webhook is not None
               else format_html("Event received by a webhook that was since deleted"))
    if payload is not None:
        heading = format_html("{} ({}).", heading, linked(Named("open the payload", payload.url)))
    else:
        heading = format_html("{}.", heading)
    return format_html('{}\nInstruction: {}\n<span class="muted">Data sent:</span>\n{}', heading,
                       found["instruction"], found["data"])


notes.register_namer(webhook_names)
notes.register_presenter(services.MEMORY_SOURCE, present_event_note)
