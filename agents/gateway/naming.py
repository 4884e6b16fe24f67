"""How Mission Control names its agents on a gateway.

The scheme is the earlier Mission Control's, so agents it provisioned are adopted rather
than created a second time: a worker is ``mc-<agent id>``, a board's lead ``lead-<board
id>``, a gateway's main agent ``mc-gateway-<gateway id>``; each agent's main session is
``agent:<gateway agent id>:main`` and its workspace ``<workspace root>/workspace-<key>``
(the main agent's key drops its ``mc-`` prefix: ``workspace-gateway-<gateway id>``).
"""

from __future__ import annotations

from agents.models import Agent, Gateway

DEFAULT_WORKSPACE_ROOT = "~/.openclaw"
MAIN_PREFIX = "mc-gateway-"


def default_gateway_agent_id(agent: Agent) -> str:
    if agent.board_id is None:
        return f"{MAIN_PREFIX}{agent.gateway_id}"
    if agent.is_board_lead:
        # A lead that took over from another keeps its own id: the first lead holds lead-<board>.
        taken = (Agent.objects.filter(board_id=agent.board_id, gateway_agent_id=f"lead-{agent.board_id}")
                 .exclude(pk=agent.pk).exists())
        if not taken:
            return f"lead-{agent.board_id}"
    return f"mc-{agent.pk}"


def gateway_agent_id(agent: Agent) -> str:
    """The agent's id on its gateway: the one it was provisioned under, else the default."""
    return agent.gateway_agent_id or default_gateway_agent_id(agent)


def session_key(gateway_agent_id: str) -> str:
    return f"agent:{gateway_agent_id}:main"


def workspace_root(gateway: Gateway) -> str:
    return (gateway.workspace_root or DEFAULT_WORKSPACE_ROOT).rstrip("/") or "/"


def workspace_path(gateway: Gateway, gateway_agent_id: str) -> str:
    key = gateway_agent_id.removeprefix("mc-") if gateway_agent_id.startswith(MAIN_PREFIX) else gateway_agent_id
    return f"{workspace_root(gateway)}/workspace-{key}"
