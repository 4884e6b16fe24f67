"""Board-memory notes as the console shows them: the ids written for the agents said as the
names people know, linked where they can be opened.

The note itself stays as the agents read it. Here, every id in a page of notes that names
something still there (a task, an approval, a board, an agent, or what another app
registers, such as a webhook) is looked up in a few queries and shown by its name; an id
inside a path (``/api/v1/...``) is part of an address and stays. An app may also register
how the notes it writes are shown (``register_presenter``), since it knows their shape.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from agents import access, markup
from agents.models import Agent, Approval, BoardMemory, Task, User

UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class Named:
    text: str
    url: str | None = None


Names = dict[uuid.UUID, Named]
Namer = Callable[[set[uuid.UUID], User], Names]
Presenter = Callable[[BoardMemory, Names], SafeString | None]

_namers: list[Namer] = []
_presenters: dict[str, Presenter] = {}


def register_namer(namer: Namer) -> None:
    """``namer(ids, user)`` names those of ``ids`` it knows and ``user`` may see."""
    if namer not in _namers:
        _namers.append(namer)


def register_presenter(source: str, presenter: Presenter) -> None:
    """``presenter(note, names)`` shows the notes of ``source``, or None to show one as text."""
    _presenters[source] = presenter


def ids_in(text: str) -> set[uuid.UUID]:
    return {uuid.UUID(found) for found in UUID_TEXT.findall(text or "")}


def _domain_names(ids: set[uuid.UUID], user: User) -> Names:
    names: Names = {}
    boards = access.visible_boards(user)
    for pk, board_id, title in Task.objects.filter(pk__in=ids, board__in=boards).values_list("pk", "board_id",
                                                                                              "title"):
        names[pk] = Named(f"“{title}”", reverse("console:task", args=[board_id, pk]))
    approvals = (Approval.objects.filter(pk__in=ids - names.keys(), board__in=boards)
                 .prefetch_related("task_links__task"))
    for approval in approvals:
        titles = [f"“{link.task.title}”" for link in approval.task_links.all()]
        text = f"the approval for {' and '.join(titles)}" if titles else "the approval"
        names[approval.pk] = Named(text, reverse("console:approvals") + f"#approval-{approval.pk}")
    for pk, name in boards.filter(pk__in=ids - names.keys()).values_list("pk", "name"):
        names[pk] = Named(name, reverse("console:board", args=[pk]))
    for pk, name in access.visible_agents(user).filter(pk__in=ids - names.keys()).values_list("pk", "name"):
        names[pk] = Named(name, reverse("console:agent", args=[pk]))
    return names


register_namer(_domain_names)


def names_for(notes: Iterable[BoardMemory], user: User) -> Names:
    """The names of every id the notes mention (and their tags), as ``user`` may see them."""
    wanted: set[uuid.UUID] = set()
    for note in notes:
        wanted |= ids_in(note.content)
        for tag in note.tags or []:
            wanted |= ids_in(str(tag))
    names: Names = {}
    for namer in _namers:
        left = wanted - names.keys()
        if not left:
            break
        names.update(namer(left, user))
    return names


def linked(named: Named) -> SafeString:
    if named.url is None:
        return format_html("{}", named.text)
    return format_html('<a href="{}">{}</a>', named.url, named.text)


def with_names(text: str, names: Names) -> SafeString:
    """``text`` escaped, each id outside a path shown by its name."""
    parts: list[str] = []
    last = 0
    for match in UUID_TEXT.finditer(text):
        parts.append(escape(text[last:match.start()]))
        named = names.get(uuid.UUID(match.group(0)))
        in_path = match.start() > 0 and text[match.start() - 1] == "/"
        parts.append(linked(named) if named is not None and not in_path else escape(match.group(0)))
        last = match.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # noqa: S308 - every part is escaped or built by format_html


def tag_text(tag: str, names: Names) -> SafeString:
    """A note's tag, ``webhook:<id>`` said as ``webhook: <its name>``."""
    kind, _, rest = str(tag).partition(":")
    if rest and UUID_TEXT.fullmatch(rest) and uuid.UUID(rest) in names:
        return format_html("{}: {}", kind, names[uuid.UUID(rest)].text)
    return format_html("{}", tag)


@dataclass(frozen=True)
class NoteView:
    note: BoardMemory
    body: SafeString
    # Long notes with several lines open with their first line; the rest is one click away.
    summary: SafeString | None
    tags: list[SafeString]


LONG_NOTE = 400


def present(notes: Iterable[BoardMemory], user: User, agents: Iterable[Agent] = ()) -> list[NoteView]:
    """How each note shows: a system note by its presenter or with names for its ids; a chat
    message as the Markdown its writer typed (``agents.markup``, ``@name`` linked for ``agents``)."""
    notes = list(notes)
    names = names_for(notes, user)
    agents = list(agents)
    views = []
    for note in notes:
        tags = [tag_text(tag, names) for tag in note.tags or []]
        presenter = _presenters.get(note.source)
        shown = presenter(note, names) if presenter is not None else None
        if shown is not None:
            views.append(NoteView(note, shown, None, tags))
            continue
        if note.is_chat:
            views.append(NoteView(note, markup.render(note.content, agents), None, tags))
            continue
        content = note.content or ""
        if len(content) > LONG_NOTE and "\n" in content:
            first, rest = content.split("\n", 1)
            views.append(NoteView(note, with_names(rest, names), with_names(first, names), tags))
        else:
            views.append(NoteView(note, with_names(content, names), None, tags))
    return views
