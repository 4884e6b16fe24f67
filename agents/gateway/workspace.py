"""The files of an agent's OpenClaw workspace, rendered from ``templates/workspace/``.

Every agent gets AGENTS, SOUL, TOOLS, IDENTITY, USER, HEARTBEAT and MEMORY; a board lead
also gets BOOTSTRAP. AGENTS.md carries everything an agent needs (its token, the
heartbeat, how to work), because some gateway versions refuse TOOLS.md and HEARTBEAT.md
or never read them. USER.md and MEMORY.md belong to the agent once written: an update
leaves them alone.

OpenClaw offers no per-agent secret an agent's shell could read by name (its exec tool
sees the gateway's environment, shared by all its agents), so the token is written into
the files themselves; ``agents.tokens`` keeps a rotation safe.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.template import Context, Engine

from agents.models import Agent, Board, Membership

TEMPLATE_DIR = settings.BASE_DIR / "templates" / "workspace"
COMMON_FILES = ("AGENTS.md", "SOUL.md", "TOOLS.md", "IDENTITY.md", "USER.md", "HEARTBEAT.md", "MEMORY.md")
LEAD_FILES = (*COMMON_FILES, "BOOTSTRAP.md")
# Written at the first provisioning only: from then on the agent keeps them.
AGENT_OWNED_FILES = frozenset({"USER.md", "MEMORY.md"})
ROLE_TAGS = {"lead": "agent-lead", "worker": "agent-worker", "main": "agent-main"}
DEFAULT_IDENTITY = {
    "lead": {"role": "Board lead", "communication_style": "direct, concise, practical"},
    "worker": {"role": "Generalist", "communication_style": "direct, concise, practical"},
    "main": {"role": "Gateway agent", "communication_style": "direct, concise, practical"},
}
# The token line of our files, and the shapes earlier Mission Control versions wrote
# (``AUTH_TOKEN=...``, also as a Markdown bullet in backticks), so adopted agents keep theirs.
_TOKEN_LINE = re.compile(r"^\s*(?:-\s*)?`?(?:MC_AGENT_TOKEN|AUTH_TOKEN)=(?P<token>[^`\s]+)`?\s*$", re.M)


@dataclass(frozen=True)
class WorkspaceFile:
    name: str
    content: str


@lru_cache(maxsize=1)
def _engine() -> Engine:
    # Markdown, not HTML: nothing is escaped, and the files are ours, never user templates.
    return Engine(dirs=[str(TEMPLATE_DIR)], autoescape=False)


def file_names(agent: Agent) -> tuple[str, ...]:
    return LEAD_FILES if agent.role == "lead" else COMMON_FILES


def _identity(agent: Agent) -> dict[str, Any]:
    profile = {key: value for key, value in (agent.identity_profile or {}).items()
               if isinstance(key, str) and value not in (None, "", [], {})}
    identity: dict[str, Any] = {**DEFAULT_IDENTITY[agent.role], "emoji": ""}
    for key in ("role", "communication_style", "emoji"):
        if key in profile:
            identity[key] = _text(profile.pop(key))
    identity["extra"] = [(key.replace("_", " ").capitalize(), _text(value)) for key, value in sorted(profile.items())]
    return identity


def _text(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def _people(agent: Agent) -> list[str]:
    members = (Membership.objects.filter(organization_id=agent.organization_id).select_related("user")
               .order_by("role", "user__username")[:20])
    return [f"{m.user.get_full_name() or m.user.get_username()} ({m.get_role_display().lower()})" for m in members]


def _when(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d") if (value.hour, value.minute, value.second) == (0, 0, 0) \
        else value.strftime("%Y-%m-%d %H:%M UTC")


def _goal(board: Board | None) -> dict[str, Any] | None:
    """What a goal board works towards, in the agent's words; None for a general board."""
    if board is None or board.board_type != Board.BoardType.GOAL:
        return None
    metrics = [(name, target if isinstance(target, str) else json.dumps(target, ensure_ascii=False))
               for name, target in (board.success_metrics or {}).items()]
    # An objective alone reads as it always did; the goal's lines come with its metrics, date or confirmation.
    if not (metrics or board.target_date or board.goal_confirmed):
        return None
    return {"metrics": metrics, "target_date": _when(board.target_date) if board.target_date else "",
            "confirmed": board.goal_confirmed}


def context_for(agent: Agent, token: str, *, base_url: str | None = None) -> dict[str, Any]:
    board: Board | None = agent.board
    return {
        "agent": agent, "board": board, "gateway": agent.gateway, "organization": agent.organization,
        "group": board.group if board is not None and board.group_id is not None else None,
        "token": token, "base_url": (base_url or settings.BASE_URL).rstrip("/"),
        "role": agent.role, "role_tag": ROLE_TAGS[agent.role],
        "is_lead": agent.role == "lead", "is_main": agent.role == "main", "is_worker": agent.role == "worker",
        "identity": _identity(agent), "people": _people(agent), "goal": _goal(board),
    }


def render_workspace(agent: Agent, token: str, *, base_url: str | None = None) -> list[WorkspaceFile]:
    """The agent's workspace files, in the order they are written."""
    context = Context(context_for(agent, token, base_url=base_url), autoescape=False)
    files = []
    for name in file_names(agent):
        if name == "IDENTITY.md" and agent.identity_template.strip():
            content = agent.identity_template
        elif name == "SOUL.md" and agent.soul_template.strip():
            # Written by a person or the lead: taken as it is, never evaluated as a template.
            content = agent.soul_template
        else:
            content = _engine().get_template(name).render(context)
        files.append(WorkspaceFile(name, _tidy(content)))
    return files


def _tidy(text: str) -> str:
    """Template tags leave runs of blank lines; Markdown wants at most one."""
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def read_token(content: str) -> str | None:
    """The agent token a workspace file holds, or None."""
    match = _TOKEN_LINE.search(content or "")
    return match["token"] if match else None
