"""What the console shows of an agent's life on its gateway: its sessions and recent chat.

Read by the worker and kept on the agent (``gateway_snapshot``), so a console page never
waits on a gateway; the page asks for a refresh and shows when the snapshot was taken.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from agents.gateway import naming
from agents.gateway.connect import connection
from agents.gateway.errors import GatewayError
from agents.models import Agent

MESSAGES = 20
MESSAGE_CHARS = 2000


def _text(content: Any) -> str:
    """A chat message's content as plain text (it may be a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict) and part.get("text"))
    return ""


def run(agent_id: str) -> str:
    agent = Agent.objects.select_related("gateway").filter(pk=agent_id).first()
    if agent is None or agent.gateway is None:
        return "nothing_to_do"
    gateway_agent_id = naming.gateway_agent_id(agent)
    snapshot: dict[str, Any] = {"sessions": [], "messages": [], "error": ""}
    try:
        client = connection(agent.gateway)
        listing = client.call("sessions.list", {}) or {}
        snapshot["sessions"] = [
            {"key": item.get("key"), "kind": item.get("kind"), "updated_at": item.get("updatedAt"),
             "is_main": bool(item.get("isMain"))}
            for item in listing.get("sessions", [])
            if isinstance(item, dict) and (item.get("agentId") == gateway_agent_id
                                           or str(item.get("key", "")).startswith(f"agent:{gateway_agent_id}:"))]
        history = client.call("chat.history", {"sessionKey": naming.session_key(gateway_agent_id),
                                               "limit": MESSAGES}) or {}
        snapshot["messages"] = [
            {"role": item.get("role"), "text": _text(item.get("content"))[:MESSAGE_CHARS],
             "timestamp": item.get("timestamp")}
            for item in history.get("messages", [])[-MESSAGES:] if isinstance(item, dict)]
    except GatewayError as exc:
        snapshot["error"] = exc.sentence
    Agent.objects.filter(pk=agent.pk).update(gateway_snapshot=snapshot, gateway_snapshot_at=timezone.now())
    return "error" if snapshot["error"] else "ok"
