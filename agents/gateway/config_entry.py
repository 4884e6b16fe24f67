"""The part of a gateway's config Mission Control manages: each of its agents' entries.

Two shapes exist: OpenClaw 2026.9 keeps agents in ``agents.entries`` (an object keyed by
agent id), 2026.4 in ``agents.list`` (an array of objects with an ``id``, which a patch
merges by id). Only the keys below are ours; everything else in an entry (a model the
operator chose, the gateway's own ``agentDir``) is left as it is. A patch is built only
from the keys whose value differs, so a sync that changes nothing sends no patch at all
(an unneeded ``config.patch`` can make a gateway reload or restart).
"""

from __future__ import annotations

import re
from typing import Any

from agents.models import Agent

DEFAULT_HEARTBEAT_EVERY = "10m"
# "none": run the heartbeat, deliver its reply to no chat channel (the default target of
# 2026.9 skips heartbeats of agents with no owner channel).
HEARTBEAT_TARGET = "none"
HEARTBEAT_PROMPT = ("Mission Control heartbeat: follow the section 'Every heartbeat' of AGENTS.md. "
                    "If nothing needs you, reply with your no-op answer.")
_DURATION = re.compile(r"^\d+(ms|s|m|h|d)$")

Entry = dict[str, Any]


def heartbeat_every(agent: Agent) -> str:
    every = (agent.heartbeat_config or {}).get("every")
    return every if isinstance(every, str) and _DURATION.match(every) else DEFAULT_HEARTBEAT_EVERY


def desired_entry(agent: Agent, workspace: str) -> Entry:
    """The values Mission Control wants in the agent's entry."""
    return {
        "name": agent.name,
        "workspace": workspace,
        "heartbeat": {"every": heartbeat_every(agent), "target": HEARTBEAT_TARGET, "prompt": HEARTBEAT_PROMPT},
        "tools": {"exec": {"host": "gateway"}},
    }


def _agents_section(config: dict[str, Any]) -> dict[str, Any]:
    agents = config.get("agents")
    return agents if isinstance(agents, dict) else {}


def roster_shape(config: dict[str, Any]) -> str:
    """``entries`` or ``list``: how this gateway's config holds its agents."""
    agents = _agents_section(config)
    if isinstance(agents.get("list"), list):
        return "list"
    return "entries"


def current_entry(config: dict[str, Any], gateway_agent_id: str) -> Entry | None:
    agents = _agents_section(config)
    if roster_shape(config) == "list":
        for item in agents.get("list") or []:
            if isinstance(item, dict) and item.get("id") == gateway_agent_id:
                return item
        return None
    entry = (agents.get("entries") or {}).get(gateway_agent_id)
    return entry if isinstance(entry, dict) else None


def entry_changes(current: Entry | None, desired: Entry) -> Entry:
    """The part of ``desired`` that ``current`` does not already hold (nested, as a merge patch)."""
    current = current or {}
    changes: Entry = {}
    for key, value in desired.items():
        if isinstance(value, dict):
            inner = current.get(key)
            nested = entry_changes(inner if isinstance(inner, dict) else None, value)
            if nested:
                changes[key] = nested
        elif current.get(key) != value:
            changes[key] = value
    return changes


def merge_patch(shape: str, changes: dict[str, Entry]) -> dict[str, Any]:
    """One ``config.patch`` body for the changed entries of several agents."""
    if shape == "list":
        return {"agents": {"list": [{"id": agent_id, **entry} for agent_id, entry in sorted(changes.items())]}}
    return {"agents": {"entries": dict(sorted(changes.items()))}}
