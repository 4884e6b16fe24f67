"""Activity events as the console words them: a sentence with who did it and what it
touched, linked where the reader can open them. The event's type is kept for a tooltip.

The record itself stays as written (it outlives the tasks, agents and boards it names);
what still exists and is visible to the reader is looked up here, in a fixed number of
queries for a whole page of events.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from agents import access
from agents.models import ActivityEvent, Task, User

# The API's names of a task's fields, as a sentence says them.
TASK_FIELD_WORDS = {"title": "title", "description": "description", "priority": "priority",
                    "assigned_agent_id": "assignee", "due_at": "due date", "depends_on_task_ids": "dependencies",
                    "tag_ids": "tags", "status": "status", "comment": "comment"}
SYSTEM_NAME = "Mission Control"


@dataclass(frozen=True)
class EventLine:
    """One line of a timeline: the sentence, and the board it happened on (when still there)."""

    event: ActivityEvent
    sentence: SafeString
    board_name: str | None
    board_url: str | None


def status_word(value: Any) -> str:
    """A task status as the board's columns name it (``in_progress`` → ``In progress``)."""
    try:
        return str(Task.Status(value).label)
    except ValueError:
        return str(value).replace("_", " ").capitalize()


def _link(url: str | None, text: str) -> SafeString:
    if url is None:
        return format_html("{}", text)
    return format_html('<a href="{}">{}</a>', url, text)


def _quoted(url: str | None, title: str) -> SafeString:
    return format_html("“{}”", _link(url, title))


def _lowered(message: str) -> str:
    return message[:1].lower() + message[1:]


def _title_from(event: ActivityEvent) -> str:
    """The task's title as the event recorded it ("Created X", "X: inbox → done", ...)."""
    message = event.message or ""
    if event.event_type == "task.status_changed" and ": " in message:
        return message.rsplit(": ", 1)[0]
    for verb in ("Created ", "Updated ", "Deleted ", "Commented on "):
        if message.startswith(verb):
            return message[len(verb):]
    return message


def _uuids(values: Any) -> list[uuid.UUID]:
    found = []
    for value in values if isinstance(values, list) else []:
        try:
            found.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return found


# "Board Launch created", "Tag Docs changed", "Gateway Lab registered", "Agent Scout deleted".
_NAMED_CHANGE = re.compile(r"^(?P<noun>Board|Tag|Gateway|Agent) (?P<name>.+) (?P<verb>created|changed|deleted|"
                           r"registered|removed)$")
_WEBHOOK_CHANGE = re.compile(r"^Webhook (?P<verb>created|changed|deleted)\.$")


class _Known:
    """What the events of one page name that still exists and the reader may open."""

    def __init__(self, events: list[ActivityEvent], user: User) -> None:
        board_ids = {e.board_id for e in events if e.board_id}
        task_ids = {e.task_id for e in events if e.task_id} | {
            task_id for e in events if e.event_type.startswith("approval.") and isinstance(e.data, dict)
            for task_id in _uuids(e.data.get("task_ids"))}
        agent_ids = {e.agent_id for e in events if e.agent_id} | {e.actor_agent_id for e in events if e.actor_agent_id}
        self.boards: dict[Any, str] = dict(access.visible_boards(user).filter(pk__in=board_ids)
                                           .values_list("pk", "name")) if board_ids else {}
        self.tasks: dict[Any, tuple[Any, str]] = {
            pk: (board_id, title) for pk, board_id, title in
            Task.objects.filter(pk__in=task_ids, board__in=access.visible_boards(user))
            .values_list("pk", "board_id", "title")} if task_ids else {}
        self.agents: dict[Any, str] = dict(access.visible_agents(user).filter(pk__in=agent_ids)
                                           .values_list("pk", "name")) if agent_ids else {}
        group_ids = {group_id for e in events if e.event_type.startswith("board_group.") and isinstance(e.data, dict)
                     for group_id in _uuids([e.data.get("board_group_id")])}
        self.groups: dict[Any, str] = dict(access.visible_groups(user).filter(pk__in=group_ids)
                                           .values_list("pk", "name")) if group_ids else {}

    def task_url(self, task_id: Any) -> str | None:
        found = self.tasks.get(task_id)
        return reverse("console:task", args=[found[0], task_id]) if found else None

    def agent_url(self, agent_id: Any) -> str | None:
        return reverse("console:agent", args=[agent_id]) if agent_id in self.agents else None


def _actor(event: ActivityEvent, known: _Known) -> SafeString:
    if event.actor_type == ActivityEvent.ActorType.AGENT:
        name = known.agents.get(event.actor_agent_id) or event.actor_name or "An agent"
        return _link(known.agent_url(event.actor_agent_id), name)
    if event.actor_type == ActivityEvent.ActorType.USER:
        return format_html("{}", event.actor_name or "Someone")
    return format_html("{}", SYSTEM_NAME)


def _task_sentence(event: ActivityEvent, known: _Known, actor: SafeString) -> SafeString | None:
    live = known.tasks.get(event.task_id)
    title = live[1] if live else _title_from(event)
    task = _quoted(known.task_url(event.task_id), title)
    data = event.data if isinstance(event.data, dict) else {}
    kind = event.event_type
    if kind == "task.status_changed" and "from" in data and "to" in data:
        return format_html("{} moved {} from {} to {}.", actor, task, status_word(data["from"]),
                           status_word(data["to"]))
    if kind == "task.created":
        return format_html("{} created {}.", actor, task)
    if kind == "task.commented":
        return format_html("{} commented on {}.", actor, task)
    if kind == "task.deleted":
        return format_html("{} deleted the task {}.", actor, task)
    if (kind == "task.updated" and data.get("changes") == ["position"] and isinstance(data.get("from"), int)
            and isinstance(data.get("position"), int)):
        # Dropped at a place (the board's drag): which place, counted from 1 as the board shows it.
        return format_html("{} moved {} to number {} in {}.", actor, task, data["position"] + 1,
                           status_word(str(data.get("status", ""))))
    if kind == "task.updated" and data.get("changes") == ["position"] and data.get("direction") in ("up", "down"):
        return format_html("{} moved {} {} in {}.", actor, task, data["direction"],
                           status_word(str(data.get("status", ""))))
    if kind == "task.updated":
        words = [TASK_FIELD_WORDS.get(name, str(name).replace("_", " ")) for name in data.get("changes", [])
                 if name != "comment"]
        if words:
            return format_html("{} changed the {} of {}.", actor, ", ".join(words), task)
        return format_html("{} changed {}.", actor, task)
    return None


def _approval_sentence(event: ActivityEvent, known: _Known, actor: SafeString) -> SafeString | None:
    data = event.data if isinstance(event.data, dict) else {}
    action = (event.message or "").partition(": ")[2].replace("_", " ") or "act"
    tasks = [_quoted(known.task_url(task_id), known.tasks[task_id][1]) for task_id in _uuids(data.get("task_ids"))
             if task_id in known.tasks]
    on = format_html(" on {}", format_html(", ".join(["{}"] * len(tasks)), *tasks)) if tasks else ""
    if event.event_type == "approval.requested":
        return format_html("{} asked for approval to {}{}.", actor, action, on)
    if event.event_type == "approval.resolved" and data.get("status") in ("approved", "rejected"):
        return format_html("{} {} the request to {}{}.", actor, data["status"], action, on)
    return None


def _change_sentence(event: ActivityEvent, known: _Known, actor: SafeString) -> SafeString | None:
    """The fixed messages of board, tag, gateway, agent and webhook changes, with the actor first."""
    message = event.message or ""
    if event.event_type == "memory.created":
        where = "the board chat" if (event.data or {}).get("is_chat") else "board memory"
        url = reverse("console:board_memory", args=[event.board_id]) if event.board_id in known.boards else None
        verb = "wrote in" if where == "the board chat" else "added a note to"
        return format_html("{} {} {}.", actor, verb, _link(url, where))
    if message.startswith("Token of ") and message.endswith(" rotated"):
        name = message[len("Token of "):-len(" rotated")]
        return format_html("{} gave {} a new token.", actor, _relinked(name, _links_of(event, known)))
    found = _NAMED_CHANGE.match(message)
    if found is not None:
        noun, name = found["noun"].lower(), found["name"]
        url = None
        if noun == "board" and known.boards.get(event.board_id) == name:
            url = reverse("console:board", args=[event.board_id])
        elif noun == "agent" and known.agents.get(event.agent_id) == name:
            url = known.agent_url(event.agent_id)
        return format_html("{} {} the {} {}.", actor, found["verb"], noun, _link(url, name))
    found = _WEBHOOK_CHANGE.match(message)
    if found is not None:
        return format_html("{} {} a webhook.", actor, found["verb"])
    return None


# "Board group Web created", "Board Launch joined the group Web", "Group chat message in Web".
_GROUP_NAME = re.compile(r"^Board group (?P<name>.+) (?:created|changed|deleted)$|"
                         r"^Board .+ (?:joined|left) the group (?P<joined>.+)$|^Group (?:chat message|memory note) in "
                         r"(?P<memory>.+)$")


def _group_sentence(event: ActivityEvent, known: _Known, actor: SafeString) -> SafeString | None:
    """Board group changes, with the group linked while it exists."""
    data = event.data if isinstance(event.data, dict) else {}
    found = _GROUP_NAME.match(event.message or "")
    if found is None:
        return None
    group_ids = _uuids([data.get("board_group_id")])
    group_id = group_ids[0] if group_ids else None
    name = known.groups.get(group_id) or found["name"] or found["joined"] or found["memory"]
    group = _link(reverse("console:group", args=[group_id]) if group_id in known.groups else None, name)
    board_name = known.boards.get(event.board_id)
    board = _link(reverse("console:board", args=[event.board_id]) if board_name else None,
                  board_name or "a board")
    kind = event.event_type.removeprefix("board_group.")
    if kind in ("created", "updated", "deleted"):
        verb = {"created": "created", "updated": "changed", "deleted": "deleted"}[kind]
        return format_html("{} {} the board group {}.", actor, verb, group)
    if kind == "board_added":
        return format_html("{} put the board {} in the group {}.", actor, board, group)
    if kind == "board_removed":
        return format_html("{} took the board {} out of the group {}.", actor, board, group)
    if kind == "memory_created":
        where = "the group chat of" if data.get("is_chat") else "a note to the group memory of"
        verb = "wrote in" if data.get("is_chat") else "added"
        return format_html("{} {} {} {}.", actor, verb, where, group)
    return None


def describe(event: ActivityEvent, known: _Known) -> SafeString:
    actor = _actor(event, known)
    if event.event_type.startswith("task.") and event.task_id:
        sentence = _task_sentence(event, known, actor)
        if sentence is not None:
            return sentence
    if event.actor_type != ActivityEvent.ActorType.SYSTEM:
        if event.event_type.startswith("approval."):
            by_kind = _approval_sentence(event, known, actor)
        elif event.event_type.startswith("board_group."):
            by_kind = _group_sentence(event, known, actor)
        else:
            by_kind = _change_sentence(event, known, actor)
        if by_kind is not None:
            return by_kind
    message = event.message or event.event_type.split(".", 1)[-1].replace("_", " ").capitalize()
    links = _links_of(event, known)
    if event.actor_type == ActivityEvent.ActorType.AGENT and event.actor_name and message.startswith(
            event.actor_name):
        # "Scout checked in.": the sentence already starts with its actor.
        return _relinked(message, [(event.actor_name, known.agent_url(event.actor_agent_id)), *links])
    for verb in ("Created ", "Updated ", "Deleted ", "Commented on "):
        if message.startswith(verb):
            return format_html("{} {}", actor, _relinked(_lowered(message), links))
    linked = _relinked(message, links)
    if event.actor_type == ActivityEvent.ActorType.SYSTEM:
        return linked
    return format_html("{} — {}", linked, actor)


def _links_of(event: ActivityEvent, known: _Known) -> list[tuple[str | None, str | None]]:
    links: list[tuple[str | None, str | None]] = [(known.agents.get(event.agent_id), known.agent_url(event.agent_id))]
    if event.task_id in known.tasks:
        links.append((known.tasks[event.task_id][1], known.task_url(event.task_id)))
    return links


def _relinked(message: str, links: list[tuple[str | None, str | None]]) -> SafeString:
    """``message`` escaped, with the first mention of each named object linked."""
    parts: list[Any] = [message]
    for name, url in links:
        if not name or not url:
            continue
        for index, part in enumerate(parts):
            if isinstance(part, str) and not isinstance(part, SafeString) and name in part:
                before, after = part.split(name, 1)
                parts[index:index + 1] = [before, _link(url, name), after]
                break
    return mark_safe("".join(str(part) if isinstance(part, SafeString) else escape(part)  # noqa: S308
                             for part in parts))


def describe_events(events: Iterable[ActivityEvent], user: User) -> list[EventLine]:
    """The lines of a timeline for ``user``: each event in words, with what it names linked."""
    events = list(events)
    known = _Known(events, user)
    lines = []
    for event in events:
        board_name = known.boards.get(event.board_id)
        lines.append(EventLine(event=event, sentence=describe(event, known), board_name=board_name,
                               board_url=reverse("console:board", args=[event.board_id]) if board_name else None))
    return lines
