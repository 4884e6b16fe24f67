"""Markdown in what people and agents write (task descriptions, comments, chat), as the
console shows it: CommonMark rendered on the server, then sanitized.

Two layers, so a mistake in one is caught by the other. The Markdown renderer never passes
HTML through (raw tags come out as text) and refuses ``javascript:``-style links; nh3 then
keeps only the elements and attributes listed here and only http, https and mailto links,
and gives every link ``rel="noopener noreferrer nofollow"``. ``@name`` becomes a link to
the agent of the board with that name (``@lead``: the board's lead), as mentions tell
agents in ``agents.gateway.events``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import nh3
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from agents.gateway.events import MENTION
from agents.models import Agent

ALLOWED_TAGS = {"p", "br", "strong", "em", "s", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr",
                "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "class"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}
URL_SCHEMES = {"http", "https", "mailto"}
# A table cell's alignment is the one style Markdown writes; nothing else may be styled.
_ALIGNMENT = re.compile(r"^text-align:(left|right|center)$")

# (agent, length of the mention's text that names it) for the text after an "@", or None.
Resolver = Callable[[str], "tuple[Agent, int] | None"]


def _link_mentions(state: StateCore) -> None:
    resolve: Resolver | None = state.env.get("mention")
    if resolve is None:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        inside_link = 0
        for token in block.children:
            inside_link += {"link_open": 1, "link_close": -1}.get(token.type, 0)
            if token.type != "text" or inside_link or "@" not in token.content:
                children.append(token)
                continue
            children.extend(_split_mentions(token.content, resolve))
        block.children = children


def _split_mentions(text: str, resolve: Resolver) -> list[Token]:
    tokens: list[Token] = []
    last = 0
    for match in MENTION.finditer(text):
        found = resolve(match.group(1))
        if found is None:
            continue
        agent, length = found
        end = match.start(1) + length
        if match.start() > last:
            tokens.append(_text(text[last:match.start()]))
        link = Token("link_open", "a", 1)
        link.attrs = {"href": reverse("console:agent", args=[agent.pk]), "class": "mention"}
        tokens.extend([link, _text(text[match.start():end]), Token("link_close", "a", -1)])
        last = end
    if last < len(text):
        tokens.append(_text(text[last:]))
    return tokens


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


_RENDERER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
_RENDERER.core.ruler.push("mentions", _link_mentions)


def mention_resolver(agents: Iterable[Agent]) -> Resolver:
    """Finds the agent an ``@`` names, by the longest agent name the text starts with (case
    ignored), or the lead for ``@lead``; the same reading as the notifications'."""
    by_length = sorted(agents, key=lambda agent: -len(agent.name))

    def resolve(text: str) -> tuple[Agent, int] | None:
        lowered = text.lower()
        for agent in by_length:
            name = agent.name.lower()
            if lowered.startswith(name) and (len(lowered) == len(name) or not lowered[len(name)].isalnum()):
                return agent, len(agent.name)
        if lowered.startswith("lead"):
            lead = next((agent for agent in by_length if agent.is_board_lead), None)
            if lead is not None:
                return lead, len("lead")
        return None

    return resolve


def _attribute(element: str, attribute: str, value: str) -> str | None:
    if attribute == "style":
        return value if _ALIGNMENT.match(value.replace(" ", "")) else None
    return value


def render(text: str | None, agents: Iterable[Agent] = ()) -> SafeString:
    """``text`` as sanitized HTML, with ``@name`` linked for ``agents``."""
    if not text:
        return mark_safe("")  # noqa: S308 - empty
    env: dict[str, Any] = {"mention": mention_resolver(agents)}
    html = _RENDERER.render(text, env)
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                      link_rel="noopener noreferrer nofollow", attribute_filter=_attribute)
    return mark_safe(clean)  # noqa: S308 - sanitized by nh3 just above
