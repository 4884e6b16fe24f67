"""One workspace file of an agent, read or written on its gateway while a caller waits."""

from __future__ import annotations

from agents.gateway import naming, workspace
from agents.gateway.connect import connection
from agents.gateway.provisioning import file_content
from agents.models import Agent

# A caller waits on this: short, and one attempt (the caller may ask again).
TIMEOUT_SECONDS = 15.0
# What a planned file shows where the workspace will hold the agent's token.
TOKEN_PLACEHOLDER = "<your agent token>"


def read_file(agent: Agent, name: str) -> str:
    assert agent.gateway is not None
    answer = connection(agent.gateway).call(
        "agents.files.get", {"agentId": naming.gateway_agent_id(agent), "name": name}, timeout=TIMEOUT_SECONDS)
    return file_content(answer)


def write_file(agent: Agent, name: str, content: str) -> None:
    assert agent.gateway is not None
    connection(agent.gateway).call(
        "agents.files.set", {"agentId": naming.gateway_agent_id(agent), "name": name, "content": content},
        timeout=TIMEOUT_SECONDS)


def planned_file(agent: Agent, name: str) -> str:
    """The file as provisioning would write it now (no token in it: this is for reading)."""
    for draft in workspace.render_workspace(agent, TOKEN_PLACEHOLDER):
        if draft.name == name:
            return draft.content
    raise KeyError(name)
