"""Template helpers of the console: times, JSON, confidence bars, query strings, Markdown."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django import template
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import QueryDict
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# htmx, placed by scripts/htmx.py (bootstrap); not in git, so a clone may lack it.
HTMX_SCRIPT = "vendor/htmx.min.js"
# htmx reads its configuration from this meta tag. Under our Content-Security-Policy it may
# not add a <style> (indicator styles), evaluate code (hx-on, trigger filters, js: values)
# or run scripts that come in a fragment, nor copy style attributes while it settles a swap
# (attributesToSettle: setting one is an inline style too). History snapshots are off: Back loads the page
# again instead of restoring a stale copy. A 422 is a refused form: its fragment is swapped
# in like a 200, so the refusal shows where the form was.
HTMX_CONFIG = json.dumps({
    "includeIndicatorStyles": False,
    "allowEval": False,
    "allowScriptTags": False,
    "attributesToSettle": ["class", "width", "height"],
    "selfRequestsOnly": True,
    "historyCacheSize": 0,
    "refreshOnHistoryMiss": True,
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[23]..", "swap": True},
        {"code": "422", "swap": True},
        {"code": "[45]..", "swap": False, "error": True},
        {"code": "...", "swap": False},
    ],
}, separators=(",", ":"))


def htmx_url() -> str | None:
    """The URL of the htmx script, or None when this installation does not have it."""
    if not (finders.find(HTMX_SCRIPT) or staticfiles_storage.exists(HTMX_SCRIPT)):
        return None
    try:
        return staticfiles_storage.url(HTMX_SCRIPT)
    except ValueError:  # the manifest storage was collected before the file came
        return None


@register.simple_tag
def htmx_script() -> SafeString:
    """The htmx config and script tags; nothing when the file is missing, and every page
    then works as it does without JavaScript."""
    url = htmx_url()
    if url is None:
        return SafeString("")
    return format_html('<meta name="htmx-config" content="{}">\n  <script src="{}" defer></script>',
                       HTMX_CONFIG, url)


@register.simple_tag
def markdown(text: str | None, agents: Any = ()) -> SafeString:
    """``text`` as sanitized HTML (``agents.markup``), ``@name`` linked for ``agents``."""
    from agents.markup import render

    return render(text, agents or ())

@register.filter
def mention_names(agents: Any, chat: bool = False) -> str:
    """The names a text box may @mention, as JSON for ``data-mention-names`` (the console's
    suggestions): the agents' names, ``lead`` when one of them leads, and ``all`` in chat."""
    agents = list(agents or ())
    names = sorted({agent.name for agent in agents}, key=str.lower)
    if any(agent.is_board_lead for agent in agents) and "lead" not in {name.lower() for name in names}:
        names.append("lead")
    if chat:
        names.append("all")
    return json.dumps(names, ensure_ascii=False)


_UNITS = (("year", 31_536_000), ("month", 2_592_000), ("week", 604_800), ("day", 86_400),
          ("hour", 3_600), ("minute", 60))


def relative_phrase(value: datetime, now: datetime | None = None) -> str:
    """"3 minutes ago" / "in 2 hours"; the script keeps the words fresh in the browser."""
    seconds = int(((now or timezone.now()) - value).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 45:
        return "in a moment" if future else "just now"
    for name, size in _UNITS:
        count = seconds // size
        if count >= 1:
            phrase = f"{count} {name}{'' if count == 1 else 's'}"
            return f"in {phrase}" if future else f"{phrase} ago"
    return "in a minute" if future else "1 minute ago"


@register.simple_tag
def reltime(value: datetime | None, empty: str = "never") -> SafeString:
    """A ``<time>`` with relative words and, on hover, the exact time in the reader's zone
    (the one the console activated for them) with its abbreviation; ``datetime`` stays UTC."""
    if value is None:
        return format_html('<span class="muted">{}</span>', empty)
    local = timezone.localtime(value)
    return format_html('<time datetime="{}" title="{}" data-relative>{}</time>',
                       value.astimezone(UTC).isoformat(), local.strftime("%Y-%m-%d %H:%M:%S %Z"),
                       relative_phrase(value))


@register.filter
def pretty_json(value: Any) -> str:
    """Indented JSON for the payload viewer (escaped by the template like any text)."""
    try:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


@register.filter
def tenth(value: Any) -> int:
    """0..100 rounded to a multiple of ten: the width class of a confidence bar (no inline styles)."""
    try:
        number = max(0, min(100, int(value)))
    except (TypeError, ValueError):
        return 0
    return int(round(number / 10.0) * 10)


@register.simple_tag(takes_context=True)
def query(context: template.Context, **changes: Any) -> str:
    """The current query string with ``changes`` applied (None removes a key), for paging links."""
    params: QueryDict = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def label(value: str) -> str:
    """``in_progress`` → ``In progress``."""
    return str(value).replace("_", " ").capitalize()


@register.filter
def as_text(value: Any) -> str:
    """A text, or the items of a list joined by commas."""
    return ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``mapping[key]`` in a template, or None."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def attached_details(approval: Any) -> Any:
    """What the approval's payload adds to the reason shown above it, or None when nothing.

    Approvals without a ``reason`` in the payload get the reasoning copied there for older
    clients; repeating it under "Details the agent attached" would only say it twice."""
    payload = getattr(approval, "payload", None)
    if not isinstance(payload, dict):
        return payload
    shown = approval.lead_reasoning or payload.get("reason")
    if shown and payload.get("reason") == shown:
        payload = {key: value for key, value in payload.items() if key != "reason"}
    return payload or None
