"""The agent roster: people add, change and remove agents; a lead adds workers.

The same limits hold for everyone: a board has at most ``max_agents`` agents, names are
unique on a board, a board has one lead and a gateway one main agent. People need an
admin role in the agent's organization. Each refusal is a ``RuleViolation`` with a
stable code; each change writes one event.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.db import IntegrityError, transaction

from agents import access, activity, tokens
from agents.gateway import cleanup, lifecycle
from agents.models import Agent, Board, Gateway, User
from agents.refusals import RuleViolation
from agents.rules import listeners
from agents.rules.actors import Actor
from agents.tokens import mint_token
from missioncontrol.lookups import parse_uuid

AGENT_NAME_MAX_LENGTH = 200
# Who an agent is, as its creator describes it; the gateway side writes its workspace
# files (IDENTITY.md, SOUL.md) and its heartbeat entry from these.
IDENTITY_FIELDS = ("identity_profile", "identity_template", "soul_template", "heartbeat_config")
PROFILE_MAX_KEYS = 50
PROFILE_KEY_MAX_LENGTH = 100
PROFILE_TEXT_MAX_LENGTH = 2_000
PROFILE_LIST_MAX_ITEMS = 50
TEMPLATE_MAX_LENGTH = 65_536
HEARTBEAT_CONFIG_MAX_BYTES = 4_096
# OpenClaw's heartbeat interval: a number and a unit, as its config takes it ("10m").
HEARTBEAT_EVERY = re.compile(r"\d+(ms|s|m|h|d)")


def _agent_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise RuleViolation(422, "agent_name_required", "An agent needs a name.", field="name")
    name = name.strip()
    if len(name) > AGENT_NAME_MAX_LENGTH:
        raise RuleViolation(422, "agent_name_too_long", f"A name has at most {AGENT_NAME_MAX_LENGTH} characters.",
                            field="name")
    return name


def _profile_invalid(message: str) -> RuleViolation:
    return RuleViolation(422, "invalid_identity_profile", message, field="identity_profile")


def _profile_text(key: str, value: str) -> str:
    value = value.strip()
    if len(value) > PROFILE_TEXT_MAX_LENGTH:
        raise _profile_invalid(f"identity_profile.{key} has at most {PROFILE_TEXT_MAX_LENGTH} characters.")
    return value


def read_identity_profile(value: Any) -> dict[str, str | list[str]]:
    """An object of texts or lists of texts (``role``, ``communication_style``, ``emoji``, or
    any other key, kept as given), trimmed; a key whose value is null is left out."""
    if not isinstance(value, dict):
        raise _profile_invalid("identity_profile must be an object of texts or lists of texts.")
    if len(value) > PROFILE_MAX_KEYS:
        raise _profile_invalid(f"identity_profile has at most {PROFILE_MAX_KEYS} keys.")
    profile: dict[str, str | list[str]] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip() or len(key) > PROFILE_KEY_MAX_LENGTH:
            raise _profile_invalid(f"identity_profile keys are names of 1 to {PROFILE_KEY_MAX_LENGTH} characters.")
        if item is None:
            continue
        if isinstance(item, str):
            profile[key] = _profile_text(key, item)
        elif isinstance(item, list) and all(isinstance(part, str) for part in item):
            if len(item) > PROFILE_LIST_MAX_ITEMS:
                raise _profile_invalid(f"identity_profile.{key} has at most {PROFILE_LIST_MAX_ITEMS} items.")
            profile[key] = [_profile_text(key, part) for part in item]
        else:
            raise _profile_invalid(f"identity_profile.{key} must be a text or a list of texts.")
    return profile


def read_template(value: Any, field: str) -> str:
    """The text of an IDENTITY.md or SOUL.md written for this agent; empty means the default file."""
    if not isinstance(value, str):
        raise RuleViolation(422, f"invalid_{field}", f"{field} must be text (Markdown).", field=field)
    if len(value) > TEMPLATE_MAX_LENGTH:
        raise RuleViolation(422, f"{field}_too_long", f"{field} has at most {TEMPLATE_MAX_LENGTH} characters.",
                            field=field)
    return value


def read_heartbeat_config(value: Any) -> dict[str, Any]:
    """An object; ``every``, when given, is a duration like ``10m`` (``ms``, ``s``, ``m``,
    ``h`` or ``d``). Other keys are kept as given."""
    def invalid(message: str) -> RuleViolation:
        return RuleViolation(422, "invalid_heartbeat_config", message, field="heartbeat_config")

    if not isinstance(value, dict):
        raise invalid("heartbeat_config must be an object, like {\"every\": \"10m\"}.")
    config = {key: item for key, item in value.items() if not (key == "every" and item is None)}
    every = config.get("every")
    if every is not None and not (isinstance(every, str) and HEARTBEAT_EVERY.fullmatch(every.strip())):
        raise invalid("heartbeat_config.every must be a duration: a number and ms, s, m, h or d, like \"10m\".")
    if every is not None:
        config["every"] = every.strip()
    if len(json.dumps(config)) > HEARTBEAT_CONFIG_MAX_BYTES:
        raise invalid(f"heartbeat_config has at most {HEARTBEAT_CONFIG_MAX_BYTES} bytes of JSON.")
    return config


def identity_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The identity fields present in ``data``, checked; null means not given."""
    readers = {"identity_profile": read_identity_profile, "heartbeat_config": read_heartbeat_config,
               "identity_template": lambda value: read_template(value, "identity_template"),
               "soul_template": lambda value: read_template(value, "soul_template")}
    return {name: readers[name](data[name]) for name in IDENTITY_FIELDS if data.get(name) is not None}


def check_board_has_room(board: Board, name: str, lead: bool, exclude: Agent | None = None) -> None:
    """409 when the board is full (for a new agent), has an agent of that name, or already has
    a lead and ``lead`` is asked for. ``exclude``: the agent being changed."""
    agents = Agent.objects.filter(board=board)
    if exclude is not None:
        agents = agents.exclude(pk=exclude.pk)
    else:
        count = agents.count()
        if count >= board.max_agents:
            raise RuleViolation(409, "board_full",
                                f"The board already has {count} agents, its maximum of {board.max_agents}.",
                                max_agents=board.max_agents)
    if agents.filter(name__iexact=name).exists():
        raise RuleViolation(409, "agent_name_taken", f"The board already has an agent named {name!r}.")
    if lead and agents.filter(is_board_lead=True).exists():
        raise RuleViolation(409, "board_has_lead", "The board already has a lead.")


def save_agent(agent: Agent, save: Any) -> Any:
    """Runs ``save``; the database constraints settle races the checks cannot see."""
    try:
        with transaction.atomic():
            return save()
    except IntegrityError as exc:
        if agent.board_id is None:
            raise RuleViolation(409, "gateway_has_main_agent", "This gateway already has a main agent.") from exc
        raise RuleViolation(409, "agent_name_taken",
                            "The board already has an agent of that name, or already has a lead.") from exc


def create_agent(actor: Actor, *, name: str, board: Board | None = None, gateway: Gateway | None = None,
                 is_board_lead: bool = False, identity_profile: dict[str, Any] | None = None,
                 identity_template: str | None = None, soul_template: str | None = None,
                 heartbeat_config: dict[str, Any] | None = None) -> tuple[Agent, str]:
    """A new agent and its token (shown once): on ``board`` (its gateway by default), or without
    a board as ``gateway``'s main agent, with the identity its creator gave it (each of the
    four identity arguments None: not given).

    The caller has checked that ``actor`` may add agents there (an admin of the organization,
    or the board's lead). Refusals: 422 for a bad name or shape, 409 when the board is full,
    the name is taken on the board, the board has a lead, or the gateway has a main agent."""
    name = _agent_name(name)
    identity = identity_fields({"identity_profile": identity_profile, "identity_template": identity_template,
                                "soul_template": soul_template, "heartbeat_config": heartbeat_config})
    with transaction.atomic():
        if board is not None:
            # The board row lock serializes concurrent creates, so two cannot both take the last seat.
            board = Board.objects.select_for_update().get(pk=board.pk)
            check_board_has_room(board, name, is_board_lead)
            agent = Agent(name=name, board=board, organization_id=board.organization_id,
                          gateway=gateway if gateway is not None else board.gateway, is_board_lead=is_board_lead)
        else:
            if gateway is None:
                raise RuleViolation(422, "gateway_required",
                                    "An agent without a board is its gateway's main agent: give gateway_id or board_id.",
                                    field="gateway_id")
            if is_board_lead:
                raise RuleViolation(422, "lead_needs_board", "Only an agent on a board can be its lead.",
                                    field="is_board_lead")
            if Agent.objects.filter(gateway=gateway, board__isnull=True).exists():
                raise RuleViolation(409, "gateway_has_main_agent", "This gateway already has a main agent.")
            agent = Agent(name=name, board=None, organization_id=gateway.organization_id, gateway=gateway)
        for field, value in identity.items():
            setattr(agent, field, value)
        token = save_agent(agent, lambda: mint_token(agent))
        if board is not None and agent.is_board_lead:
            listeners.lead_appointed(board)
        by = f"{actor.name} added" if isinstance(actor, Agent) else "Created"
        data: dict[str, Any] = {"name": agent.name, "role": agent.role, "is_board_lead": agent.is_board_lead}
        if identity:
            data["identity_fields"] = sorted(identity)
        activity.record("agent.created", actor=actor, board=agent.board_id, agent=agent,
                        organization=agent.organization_id, message=f"{by} the {agent.role} agent {agent.name}",
                        data=data)
        provision_on_gateway(agent, token=token)
    return agent, token


def provision_on_gateway(agent: Agent, *, token: str | None = None, mode: str = "provision") -> None:
    """Queues the worker's provisioning of ``agent`` on its gateway (in the caller's
    transaction), with ``token`` sealed for its workspace. Agents without a gateway are run
    by hand: nothing to do."""
    if agent.gateway_id is None:
        return
    if token is not None:
        agent.pending_token = tokens.seal(token)
        Agent.objects.filter(pk=agent.pk).update(pending_token=agent.pending_token)
    lifecycle.request_provisioning(agent, mode=mode)


def _gateway_in(org_id: Any, gateway_id: Any) -> Gateway:
    gateway = Gateway.objects.filter(pk=gateway_id, organization_id=org_id).first()
    if gateway is None:
        raise RuleViolation(422, "gateway_not_in_organization", "No such gateway in this organization.",
                            field="gateway_id")
    return gateway


def add_agent(user: User, data: dict[str, Any]) -> tuple[Agent, str]:
    """A board agent (``board_id``) or a gateway's main agent (no board), and its token.

    Checks that ``user`` administers the board or gateway; :func:`create_agent` does the rest."""
    board: Board | None = None
    gateway: Gateway | None = None
    if data.get("board_id") is not None:
        board = access.get_board_for(user, data["board_id"], admin=True)
        if data.get("gateway_id"):
            gateway = _gateway_in(board.organization_id, data["gateway_id"])
    elif data.get("gateway_id") is not None:
        gateway = access.get_gateway_for(user, data["gateway_id"], admin=True)
    return create_agent(user, name=data["name"], board=board, gateway=gateway,
                        is_board_lead=bool(data.get("is_board_lead")),
                        **{field: data.get(field) for field in IDENTITY_FIELDS})


def update_agent(user: User, agent: Agent, data: dict[str, Any]) -> Agent:
    """Rename, change the gateway, make or unmake the board's lead, or change who the agent
    is (its identity profile, templates and heartbeat settings, each replaced as a whole). An
    agent on a gateway is provisioned again with the change (on its new gateway, when it moved)."""
    access.require_admin(user, agent.organization_id)
    if "board_id" in data and data["board_id"] != agent.board_id:
        raise RuleViolation(422, "agent_board_fixed", "An agent stays on its board; create a new one instead.",
                            field="board_id")
    old_gateway_id = agent.gateway_id
    was_lead = agent.is_board_lead
    identity = identity_fields(data)
    with transaction.atomic():
        if data.get("is_board_lead") and not was_lead and agent.board_id is not None:
            # Taken before anything else, as create_agent does: an ingest that found the board
            # without a lead waits for this change, or this change sees its delivery.
            Board.objects.select_for_update().filter(pk=agent.board_id).first()
        for field, value in identity.items():
            setattr(agent, field, value)
        if "name" in data:
            agent.name = _agent_name(data["name"])
        if "gateway_id" in data:
            agent.gateway = _gateway_in(agent.organization_id, data["gateway_id"]) if data["gateway_id"] else None
        if "is_board_lead" in data:
            if data["is_board_lead"] and agent.board_id is None:
                raise RuleViolation(422, "lead_needs_board", "Only an agent on a board can be its lead.",
                                    field="is_board_lead")
            agent.is_board_lead = bool(data["is_board_lead"])
        if agent.board is not None:
            check_board_has_room(agent.board, agent.name, agent.is_board_lead, exclude=agent)
        if agent.gateway_id != old_gateway_id and old_gateway_id is not None:
            moved = Agent.objects.get(pk=agent.pk)  # as the old gateway knows it
            cleanup.schedule(moved)
            agent.provisioned_at, agent.gateway_agent_id, agent.provision_report = None, "", {}
        save_agent(agent, agent.save)
        if agent.is_board_lead and not was_lead and agent.board is not None:
            listeners.lead_appointed(agent.board)
        activity.record("agent.updated", actor=user, board=agent.board_id, agent=agent,
                        organization=agent.organization_id, message=f"Agent {agent.name} changed",
                        data={"fields": sorted(data)})
        provision_on_gateway(agent, mode="update")
    return agent


def delete_agent(user: User, agent: Agent) -> None:
    """Remove an agent; its tasks become unassigned and its history stays. On a gateway, the
    worker removes it there too (``GatewayCleanup``), without holding up the delete here."""
    access.require_admin(user, agent.organization_id)
    with transaction.atomic():
        cleanup.schedule(agent)
        activity.record("agent.deleted", actor=user, board=agent.board_id, agent=agent.pk,
                        organization=agent.organization_id, message=f"Agent {agent.name} deleted",
                        data={"name": agent.name})
        agent.delete()


def rotate_token(user: User, agent: Agent, *, revoke_previous: bool = False) -> str:
    """A new token for ``agent``.

    An agent run by hand, or never yet provisioned, loses the old token at once. One whose
    workspace holds the old token keeps it for ``tokens.ROTATION_GRACE`` (or until it first
    calls with the new one), while the worker writes the new one there; ``revoke_previous``
    ends the old one at once anyway (a leaked token)."""
    access.require_admin(user, agent.organization_id)
    grace = None if revoke_previous or agent.provisioned_at is None else tokens.ROTATION_GRACE
    with transaction.atomic():
        token = mint_token(agent, grace=grace)
        activity.record("agent.token_rotated", actor=user, board=agent.board_id, agent=agent,
                        organization=agent.organization_id, message=f"Token of {agent.name} rotated",
                        data={"previous_valid_until": agent.previous_token_expires_at.isoformat()
                              if agent.previous_token_expires_at else None})
        provision_on_gateway(agent, token=token, mode="update")
    return token


# --- a lead adds a worker ------------------------------------------------------------------


def _check_body(lead: Agent, data: Any) -> None:
    """Other keys (older agents send ``status`` too) are ignored, except a ``board_id`` that is
    not the lead's own board and a request for a second lead."""
    if not isinstance(data, dict):
        raise RuleViolation(422, "invalid_body", "Send a JSON object.")
    board_id = data.get("board_id")
    if board_id is not None:
        parsed = parse_uuid(board_id)
        if parsed is None:
            raise RuleViolation(422, "invalid_board_id", "board_id must be a UUID.", field="board_id")
        if parsed != lead.board_id:
            raise RuleViolation(403, "board_out_of_reach", "A lead adds workers to its own board only.")
    if data.get("is_board_lead"):
        raise RuleViolation(422, "workers_only", "A lead adds workers; the board's lead is chosen by people.",
                            field="is_board_lead")


def create_worker(lead: Agent, data: Any) -> tuple[Agent, str]:
    """A new worker on ``lead``'s board and its token (shown once), with the identity the lead
    describes (``identity_profile``, ``identity_template``, ``soul_template``,
    ``heartbeat_config``); the limits are :func:`create_agent`'s, as for people adding agents."""
    if lead.board_id is None or not lead.is_board_lead:
        raise RuleViolation(403, "lead_required", "Only a board lead adds workers to its board.")
    _check_body(lead, data)
    board = lead.board
    assert board is not None  # a lead has a board
    return create_agent(lead, name=data.get("name"), board=board,
                        gateway=board.gateway if board.gateway_id else lead.gateway,
                        **{field: data.get(field) for field in IDENTITY_FIELDS})


def retry_provisioning(user: User, agent: Agent) -> Agent:
    """A person starts the agent's provisioning over (after an error, or to wake it again)."""
    access.require_admin(user, agent.organization_id)
    if agent.gateway_id is None:
        raise RuleViolation(409, "agent_not_on_gateway",
                            "This agent has no gateway: Mission Control does not provision it. Give it a gateway first.")
    with transaction.atomic():
        lifecycle.request_provisioning(agent, mode="update" if agent.provisioned_at else "provision")
        activity.record("agent.provision_requested", actor=user, board=agent.board_id, agent=agent,
                        organization=agent.organization_id, message=f"Provisioning of {agent.name} requested")
    agent.refresh_from_db()
    return agent
