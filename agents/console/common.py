"""What every console view shares: rendering inside the layout, refusals, paging, live fragments."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.forms.utils import pretty_name
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from agents import live
from agents.console import workspace
from agents.refusals import RuleViolation

PAGE_SIZE = 50
# A live fragment's answer carries the page's next change-question ticket in this header.
LIVE_TICKET_HEADER = "X-Live-Ticket"


def page(request: HttpRequest, template: str, nav: str, context: dict[str, Any] | None = None,
         status: int = 200) -> HttpResponse:
    """Render a page of the console layout, ``nav`` naming the section it belongs to."""
    context = dict(context or {})
    context.setdefault("nav", nav)
    return render(request, template, context, status=status)


def forbidden(request: HttpRequest, reason: str, nav: str = "boards", status: int = 403) -> HttpResponse:
    """The console's 403: the page exists, the right is missing (as the API answers)."""
    return page(request, "console/forbidden.html", nav, {"reason": reason}, status=status)


def admin_only(what: str) -> str:
    return f"Only an owner or admin of the organization may {what}."


def refusal_text(exc: RuleViolation) -> str:
    """The sentence of a refusal, exactly as the API puts it in ``detail.message``."""
    detail = exc.detail
    if isinstance(detail, dict):
        return str(detail.get("message") or detail.get("code") or exc)
    return str(detail)


def validation_text(detail: Any) -> str:
    """A DRF ValidationError detail as one readable sentence."""
    if isinstance(detail, dict):
        parts = []
        for field, errors in detail.items():
            text = validation_text(errors)
            parts.append(text if field in ("non_field_errors", "detail") else f"{pretty_name(field)}: {text}")
        return " ".join(parts)
    if isinstance(detail, list | tuple):
        return " ".join(validation_text(item) for item in detail)
    return str(detail)


def paginate(request: HttpRequest, items: QuerySet[Any] | list[Any], per_page: int = PAGE_SIZE) -> Page:
    """One page of ``items``; an out-of-range or malformed page number shows the nearest page."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def etag_for(*parts: Iterable[Any] | Any) -> str:
    raw = "|".join(str(part) for part in parts)
    return '"' + hashlib.blake2s(raw.encode(), digest_size=12).hexdigest() + '"'


def organization_scopes(request: HttpRequest) -> list[str]:
    """The change scopes of a list page: the organizations it shows (``workspace``)."""
    return [live.organization_scope(pk) for pk in workspace.organization_ids(request)]


def stamped_live(request: HttpRequest, name: str, scopes: list[str], *extra: Any) -> dict[str, str]:
    """``etag`` and ``live_ticket`` for a page that changes only when an event of ``scopes`` is
    written (plus ``extra``, such as the minute for presence): its ETag is their change stamp,
    so an unchanged check costs one SELECT."""
    return {"etag": _stamp_etag(request, name, scopes, *extra), "live_ticket": live.ticket(scopes)}


def _stamp_etag(request: HttpRequest, name: str, scopes: list[str], *extra: Any) -> str:
    return etag_for(name, request.GET.urlencode(), live.version(scopes), *extra)


def stamped_fragment(request: HttpRequest, name: str, scopes: list[str], render_fragment: Callable[[], HttpResponse],
                     *extra: Any) -> HttpResponse:
    """The live answer of a :func:`stamped_live` page."""
    return live_fragment(request, _stamp_etag(request, name, scopes, *extra), render_fragment, scopes)


def live_fragment(request: HttpRequest, etag: str, render_fragment: Callable[[], HttpResponse],
                  scopes: list[str]) -> HttpResponse:
    """Answer a live-refresh poll: 304 when the client's ETag is current, else the fragment.
    Either way with a fresh ticket for the page's change question (``agents.live``) on ``scopes``."""
    if_none_match = request.headers.get("If-None-Match", "")
    if etag in [tag.strip() for tag in if_none_match.split(",")]:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = render_fragment()
    response["ETag"] = etag
    response[LIVE_TICKET_HEADER] = live.ticket(scopes)
    # Always revalidate: the fragment is private and changes whenever the data does.
    patch_cache_control(response, private=True, no_cache=True)
    return response
