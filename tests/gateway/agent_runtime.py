"""A real OpenClaw gateway set up to run agents with the scripted model: the settings an
operator would make, each through the gateway's own interfaces (its config RPC and its
``openclaw approvals`` command), never by editing its files. Used by the end-to-end test
and by ``make demo``."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.gateway.real import RealGateway
from tests.gateway.scripted_model import MODEL_ID, ScriptedModel

PROVIDER = "scripted"


def scripted_provider(model: ScriptedModel) -> dict[str, Any]:
    """The gateway config that makes the scripted model every agent's default: a custom
    OpenAI-compatible provider (docs/gateway/local-models.md) and the default model."""
    return {
        "models": {"mode": "merge", "providers": {PROVIDER: {
            "baseUrl": model.base_url, "apiKey": "scripted-local", "api": "openai-completions",
            "models": [{"id": MODEL_ID, "name": "Scripted agent", "reasoning": False, "input": ["text"],
                        "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
                        "contextWindow": 128000, "maxTokens": 4096}]}}},
        "agents": {"defaults": {"model": {"primary": f"{PROVIDER}/{MODEL_ID}"}}},
    }


def curl_to_mission_control(base_url: str) -> dict[str, Any]:
    """The gateway's exec approvals document (docs/tools/exec-approvals.md): host exec runs
    only allowlisted commands, never asks (nobody is there to answer), and the one allowed
    command is ``curl`` in the shape of AGENTS.md's commands, to the agent API at ``base_url``.
    ``argPattern`` is matched against the parsed arguments joined by single spaces."""
    agent_api = re.escape(f"{base_url}/api/v1/agent/")
    return {"version": 1,
            "defaults": {"security": "allowlist", "ask": "off", "askFallback": "deny"},
            "agents": {"*": {"allowlist": [{
                "pattern": "curl",
                "argPattern": rf"^-fsS( -X (POST|PATCH|PUT|DELETE))? {agent_api}\S+ -H X-Agent-Token: \S+"
                              r"( -H Content-Type: application/json -d .+)?$"}]}}}


def allow_curl_to(real: RealGateway, base_url: str) -> dict[str, Any]:
    """Exec for the gateway's agents: the requested policy (``tools.exec`` in its config,
    through config.patch) and the host approvals document (``openclaw approvals set
    --gateway``, its RPC exec.approvals.set); the stricter of the two applies. Returns the
    effective policy the gateway reports."""
    configure(real, {"tools": {"exec": {"host": "gateway", "mode": "allowlist"}}})
    document = real.home / "exec-approvals.json"
    document.write_text(json.dumps(curl_to_mission_control(base_url)))
    target = ("--gateway", "--url", real.url, "--token", real.token, "--json")
    written = real.cli("approvals", "set", "--file", str(document), *target, timeout=120)
    assert written.returncode == 0, (written.stdout, written.stderr)
    shown = real.cli("approvals", "get", *target, timeout=120)
    assert shown.returncode == 0, (shown.stdout, shown.stderr)
    return json.loads(shown.stdout)


def configure(real: RealGateway, patch: dict[str, Any]) -> None:
    """One ``config.patch`` through the gateway's RPC, as an operator's tool would send it."""
    with real.connect(timeout=90) as connection:
        base = connection.call("config.get")["hash"]
        connection.call("config.patch", {"raw": json.dumps(patch), "baseHash": base}, timeout=90)


def prepare(real: RealGateway, model: ScriptedModel, base_url: str) -> dict[str, Any]:
    """The scripted model as every agent's default, and exec allowed for curl to Mission
    Control at ``base_url``; returns the exec policy the gateway reports."""
    configure(real, scripted_provider(model))
    return allow_curl_to(real, base_url)
