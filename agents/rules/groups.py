"""Board groups: boards of one organization that work together.

Owners and admins create, change and delete groups and put boards in them (through the
board's ``board_group_id``); every member sees a group, and reads and writes its memory
when they reach every board of it (a member limited to some boards may not). The
group's memory and chat are read by the agents of all its boards, who write to it from
their own board. A group's heartbeat setting is written into the heartbeat settings of
the agents of its boards (workers, and leads when the group says so) when it changes and
when a board joins, and those on a gateway are provisioned again with it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.text import slugify

from agents import access, activity
from agents.gateway import events
from agents.models import Agent, Board, BoardGroup, BoardGroupMemory, Organization, User
from agents.refusals import RuleViolation
from agents.rules.actors import Actor, actor_role, refuse_main
from agents.rules.inputs import (
    flag,
    name_text,
    optional_text,
    slug_text,
    unknown_fields,
    uuid_value,
)
from agents.rules.roster import HEARTBEAT_EVERY, provision_on_gateway
from agents.rules.unique import check_slug_free, save_unique

GROUP_FIELDS = ("name", "slug", "description", "heartbeat_every", "heartbeat_include_leads")
NAME_MAX_LENGTH = 200
HEARTBEAT_MAX_LENGTH = 20
SLUG_TAKEN = ("board_group_slug_taken", "Another board group of this organization already uses this short name (slug).")
MEMORY_TAGS_MAX = 50
MEMORY_TAG_MAX_LENGTH = 100
MEMORY_SOURCE_MAX_LENGTH = 200


def heartbeat_every_text(value: Any, field: str = "heartbeat_every") -> str:
    """A heartbeat interval like ``10m`` (a number and ms, s, m, h or d); empty or None: none."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RuleViolation(422, "invalid_heartbeat_every", f"{field} must be text, like \"10m\".", field=field)
    value = value.strip()
    if value and (len(value) > HEARTBEAT_MAX_LENGTH or not HEARTBEAT_EVERY.fullmatch(value)):
        raise RuleViolation(422, "invalid_heartbeat_every",
                            f"{field} must be a duration: a number and ms, s, m, h or d, like \"10m\".", field=field)
    return value


def _values(data: dict[str, Any]) -> dict[str, Any]:
    unknown_fields(data, GROUP_FIELDS, "board group")
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = name_text(data["name"], what="A board group", max_length=NAME_MAX_LENGTH)
    if data.get("slug") not in (None, ""):
        out["slug"] = slug_text(data["slug"], max_length=NAME_MAX_LENGTH)
    if "description" in data:
        out["description"] = optional_text(data["description"], "description")
    if "heartbeat_every" in data:
        out["heartbeat_every"] = heartbeat_every_text(data["heartbeat_every"])
    if "heartbeat_include_leads" in data:
        out["heartbeat_include_leads"] = flag(data["heartbeat_include_leads"], "heartbeat_include_leads")
    return out


def _event_data(group: BoardGroup, **extra: Any) -> dict[str, Any]:
    return {"board_group_id": str(group.pk), **extra}


def create_group(user: User, organization: Organization, data: dict[str, Any]) -> BoardGroup:
    """A new, empty group in ``organization``; its slug defaults to one made from the name."""
    access.require_admin(user, organization)
    values = _values({"name": None, **data})
    values.setdefault("slug", slugify(values["name"])[:NAME_MAX_LENGTH] or "group")
    check_slug_free(BoardGroup, organization.pk, values["slug"], SLUG_TAKEN)

    def create() -> BoardGroup:
        group = BoardGroup.objects.create(organization=organization, **values)
        activity.record("board_group.created", actor=user, organization=organization,
                        message=f"Board group {group.name} created", data=_event_data(group))
        return group

    return save_unique(*SLUG_TAKEN, create)


def update_group(user: User, group: BoardGroup, data: dict[str, Any]) -> BoardGroup:
    """Change a group's fields; a changed heartbeat setting is applied to its boards' agents."""
    access.require_admin(user, group.organization_id)
    values = _values(data)
    if "slug" in values:
        check_slug_free(BoardGroup, group.organization_id, values["slug"], SLUG_TAKEN, group)
    changed = sorted(name for name, value in values.items() if getattr(group, name) != value)
    for name, value in values.items():
        setattr(group, name, value)
    if not changed:
        return group

    def save() -> None:
        group.save()
        activity.record("board_group.updated", actor=user, organization=group.organization_id,
                        message=f"Board group {group.name} changed", data=_event_data(group, fields=changed))
        if {"heartbeat_every", "heartbeat_include_leads"} & set(changed):
            apply_heartbeat(user, group)

    save_unique(*SLUG_TAKEN, save)
    return group


def delete_group(user: User, group: BoardGroup) -> None:
    """Remove a group and its memory; its boards stay, ungrouped, and its history stays.
    The boards' leads are told, and their agents on a gateway provisioned again (their
    workspace files stop naming the group's routes)."""
    access.require_admin(user, group.organization_id)
    with transaction.atomic():
        boards = list(Board.objects.filter(group=group).order_by("name", "id"))
        activity.record("board_group.deleted", actor=user, organization=group.organization_id,
                        message=f"Board group {group.name} deleted",
                        data=_event_data(group, board_ids=[str(board.pk) for board in boards]))
        events.board_group_deleted(user, boards, group)
        group.delete()
        for agent in Agent.objects.filter(board__in=boards, gateway__isnull=False):
            provision_on_gateway(agent, mode="update")


def group_in(organization_id: Any, group_id: Any) -> BoardGroup | None:
    """The group a board of ``organization_id`` may join: one of that organization (422
    otherwise); None or empty: no group."""
    if group_id is None or group_id == "":
        return None
    group = BoardGroup.objects.filter(pk=uuid_value(group_id, "board_group_id"),
                                      organization_id=organization_id).first()
    if group is None:
        raise RuleViolation(422, "board_group_not_in_organization", "No such board group in this organization.",
                            field="board_group_id")
    return group


def board_joined(user: User, board: Board, group: BoardGroup | None, previous: BoardGroup | None) -> None:
    """The events of a board moving between groups (called by ``create_board`` and
    ``update_board`` in their transaction). A group's heartbeat setting reaches the agents
    of a board that joins; the board's agents on a gateway are provisioned again, since
    their workspace files name the group's routes only while the board is in one."""
    provisioned: set[Any] = set()
    if previous is not None:
        activity.record("board_group.board_removed", actor=user, board=board,
                        message=f"Board {board.name} left the group {previous.name}",
                        data=_event_data(previous))
        events.board_group_changed(user, board, previous, joined=False)
    if group is not None:
        activity.record("board_group.board_added", actor=user, board=board,
                        message=f"Board {board.name} joined the group {group.name}", data=_event_data(group))
        events.board_group_changed(user, board, group, joined=True)
        if group.heartbeat_every:
            provisioned = {agent.pk for agent in apply_heartbeat(user, group, boards=[board])}
    for agent in Agent.objects.filter(board=board, gateway__isnull=False).exclude(pk__in=provisioned):
        provision_on_gateway(agent, mode="update")


def _heartbeat_agents(group: BoardGroup, boards: list[Board] | None) -> list[Agent]:
    agents = Agent.objects.filter(board__group=group) if boards is None else Agent.objects.filter(board__in=boards)
    if not group.heartbeat_include_leads:
        agents = agents.filter(is_board_lead=False)
    return list(agents.order_by("name", "id"))


def apply_heartbeat(user: User, group: BoardGroup, *, boards: list[Board] | None = None) -> list[Agent]:
    """Write the group's heartbeat interval into the heartbeat settings of its boards'
    agents (only ``boards``' when given) and queue those on a gateway for provisioning with it.
    A group without a setting changes nothing. Returns the agents whose setting was written."""
    access.require_admin(user, group.organization_id)
    every = group.heartbeat_every
    if not every:
        return []
    updated: list[Agent] = []
    with transaction.atomic():
        for agent in _heartbeat_agents(group, boards):
            if (agent.heartbeat_config or {}).get("every") == every:
                continue
            agent.heartbeat_config = {**(agent.heartbeat_config or {}), "every": every}
            agent.save(update_fields=["heartbeat_config", "updated_at"])
            provision_on_gateway(agent, mode="update")
            updated.append(agent)
        if updated:
            activity.record("board_group.heartbeat_applied", actor=user, organization=group.organization_id,
                            message=f"Heartbeat every {every} given to {len(updated)} agents of the group {group.name}",
                            data=_event_data(group, every=every, agent_ids=[str(agent.pk) for agent in updated]))
    return updated


def set_heartbeat(user: User, group: BoardGroup, data: dict[str, Any]) -> tuple[BoardGroup, list[Agent]]:
    """The earlier server's heartbeat call: ``{every, include_board_leads?}`` becomes the
    group's setting and is applied to every agent it covers. Returns the group and the
    agents whose setting was written (those already at that interval are left as they are)."""
    access.require_admin(user, group.organization_id)
    every = heartbeat_every_text(data.get("every"), "every")
    if not every:
        raise RuleViolation(422, "heartbeat_every_required", "every is required, like \"10m\".", field="every")
    include_leads = data.get("include_board_leads", False)
    include_leads = flag(include_leads, "include_board_leads")
    with transaction.atomic():
        group.heartbeat_every, group.heartbeat_include_leads = every, include_leads
        group.save(update_fields=["heartbeat_every", "heartbeat_include_leads", "updated_at"])
        updated = apply_heartbeat(user, group)
    return group, updated


def _memory_tags(value: Any) -> list[str]:
    tags = value or []
    if (not isinstance(tags, list) or len(tags) > MEMORY_TAGS_MAX
            or not all(isinstance(t, str) and len(t) <= MEMORY_TAG_MAX_LENGTH for t in tags)):
        raise RuleViolation(422, "memory_tags_invalid",
                            f"tags must be a list of at most {MEMORY_TAGS_MAX} texts of up to "
                            f"{MEMORY_TAG_MAX_LENGTH} characters.", field="tags")
    return tags


def create_group_memory(actor: Actor, group: BoardGroup, data: dict[str, Any],
                        board: Board | None = None) -> BoardGroupMemory:
    """A note or chat message (tag ``chat``) in the group's memory.

    People of the organization write it from the group or from any of its boards when they
    work on every board of the group (``access.group_memory_access_of``); an agent
    writes it from its own board, which must be in the group (lead or worker: the main agent
    is refused). ``board`` is the board it was written from."""
    if board is not None:
        role = actor_role(actor, board)  # reach: 404 for people outside, 403 for agents outside
        if role == "main":
            raise refuse_main()
        if board.group_id != group.pk:
            raise RuleViolation(409, "board_not_in_group", "This board is not in the group.")
    elif isinstance(actor, Agent):
        raise RuleViolation(403, "board_agents_only", "Agents write to a group's memory from their own board.")
    elif access.role_in(actor, group.organization_id) is None:
        raise RuleViolation(404, "board_group_not_found", "No such board group.")
    if isinstance(actor, User):
        access.check_group_memory(actor, group, write=True)
    content = data.get("content")
    if not isinstance(content, str) or not content.strip():
        raise RuleViolation(422, "memory_content_required", "Group memory needs content.", field="content")
    tags = _memory_tags(data.get("tags"))
    source = data.get("source") or ""
    if not isinstance(source, str):
        raise RuleViolation(422, "memory_source_invalid", "source must be a string.", field="source")
    with transaction.atomic():
        memory = BoardGroupMemory.objects.create(
            group=group, board=board, content=content, tags=tags, is_chat="chat" in tags,
            source=source[:MEMORY_SOURCE_MAX_LENGTH],
            author_user=actor if isinstance(actor, User) else None,
            author_agent=actor if isinstance(actor, Agent) else None)
        activity.record("board_group.memory_created", actor=actor, board=board, organization=group.organization_id,
                        message=f"Group chat message in {group.name}" if memory.is_chat
                        else f"Group memory note in {group.name}",
                        data=_event_data(group, memory_id=str(memory.pk), is_chat=memory.is_chat))
        events.group_memory_written(actor, memory)
    return memory
