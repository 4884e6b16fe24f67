"""Provisioning one agent on its gateway: create (or adopt), config, workspace files, wake.

The steps, each safe to repeat:

1. ``agents.create`` under the agent's gateway id; "already exists" means the agent is
   adopted (the earlier Mission Control, or an earlier run, made it), never duplicated.
2. Wait out the gateway's config hot reload: a new agent is "not found" for a moment.
3. ``config.get``, then ``config.patch`` with ``baseHash`` only when the agent's entry
   differs from what we want (``agents.gateway.config_entry``).
4. ``agents.files.list``, then ``agents.files.set`` for each workspace file the gateway
   accepts; refused ones are reported with the reason. USER.md and MEMORY.md are written
   once and then left to the agent.
5. The wake message (``chat.send``) with an idempotency key, so a retry never doubles it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from agents import tokens
from agents.gateway import config_entry, lifecycle, naming, workspace
from agents.gateway.client import GatewayClient
from agents.gateway.connect import connection
from agents.gateway.errors import GatewayError, RequestError
from agents.models import Agent

logger = logging.getLogger("agents.gateway")

# How long a new agent may stay "not found" while the gateway reloads its config.
NOT_FOUND_WAIT_SECONDS = 15.0
# A gateway writes its config only between agent runs: 2026.4 holds agents.create and
# config.patch until a running turn ends (seen: 21 s). A write waits that long for its answer.
CONFIG_WRITE_TIMEOUT = 90.0
TOKEN_PLACEHOLDER = "<token>"
WAKE_MODES = frozenset({"provision", "update", "rewake", "retry"})
UNSUPPORTED_REASON = "this gateway does not accept the file (OpenClaw 2026.9 retired TOOLS.md and HEARTBEAT.md)"
KEPT_REASON = "kept: the agent's own file, written only the first time"


@dataclass
class Report:
    """What one provisioning did, kept on the agent and shown in the console."""

    gateway_agent_id: str
    workspace: str
    session_key: str
    mode: str
    adopted: bool = False
    config_patched: bool = False
    files_written: list[str] = field(default_factory=list)
    token_written: bool = False
    files_skipped: dict[str, str] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    woke: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run(agent_id: str, generation: int, mode: str) -> str:
    """The job: one attempt at provisioning the agent, its outcome written to its lifecycle."""
    agent = Agent.objects.select_related("gateway", "board", "organization").filter(pk=agent_id).first()
    if agent is None:
        return "gone"
    if agent.lifecycle_generation != generation:
        return "superseded"
    if agent.gateway is None:
        lifecycle.provisioning_succeeded(agent, generation, {}, woke=False)
        return "no_gateway"
    lifecycle.provisioning_started(agent, generation)
    try:
        report = provision(connection(agent.gateway), agent, mode=mode, generation=generation)
    except GatewayError as exc:
        lifecycle.provisioning_failed(agent, generation, exc.sentence, retryable=exc.retryable,
                                      retry_after=exc.retry_after)
        return f"failed: {exc.code}"
    except Exception as exc:  # noqa: BLE001  (anything else is a failed attempt too, retried)
        logger.exception("Provisioning %s failed unexpectedly", agent.pk)
        lifecycle.provisioning_failed(agent, generation, f"Provisioning failed unexpectedly ({type(exc).__name__}); "
                                      "it is retried. The worker's log has the details.", retryable=True)
        return "failed: unexpected"
    lifecycle.provisioning_succeeded(agent, generation, report.as_dict(), woke=report.woke)
    return "woken" if report.woke else "provisioned"


def provision(client: GatewayClient, agent: Agent, *, mode: str, generation: int) -> Report:
    assert agent.gateway is not None
    gateway_agent_id = naming.gateway_agent_id(agent)
    path = naming.workspace_path(agent.gateway, gateway_agent_id)
    report = Report(gateway_agent_id, path, naming.session_key(gateway_agent_id), mode)
    report.adopted = ensure_agent(client, gateway_agent_id, path)
    listing = wait_for_agent(client, gateway_agent_id)
    report.config_patched = apply_config(client, {gateway_agent_id: config_entry.desired_entry(agent, path)})
    write_files(client, agent, gateway_agent_id, listing, report, first=agent.provisioned_at is None)
    if mode in WAKE_MODES:
        wake(client, agent, report.session_key, mode=mode, generation=generation)
        report.woke = True
    return report


def ensure_agent(client: GatewayClient, gateway_agent_id: str, path: str) -> bool:
    """Creates the agent on the gateway; True when it already existed (adopted)."""
    try:
        client.call("agents.create", {"name": gateway_agent_id, "workspace": path}, timeout=CONFIG_WRITE_TIMEOUT)
    except RequestError as exc:
        if exc.is_already_exists:
            return True
        raise
    return False


def wait_for_agent(client: GatewayClient, gateway_agent_id: str, *,
                   wait_seconds: float = NOT_FOUND_WAIT_SECONDS) -> dict[str, dict[str, Any]]:
    """The agent's workspace listing, once the gateway knows the agent (by file name)."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.2
    while True:
        try:
            answer = client.call("agents.files.list", {"agentId": gateway_agent_id})
        except RequestError as exc:
            if not exc.is_not_found or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
            continue
        files = answer.get("files") if isinstance(answer, dict) else None
        return {item["name"]: item for item in files or [] if isinstance(item, dict) and "name" in item}


def apply_config(client: GatewayClient, wanted: dict[str, dict[str, Any]]) -> bool:
    """Patches the entries of ``wanted`` (by gateway agent id) that differ; True when it patched."""
    for attempt in range(2):
        answer = client.call("config.get", {})
        source = _source_config(answer)
        changes = {agent_id: change for agent_id, entry in wanted.items()
                   if (change := config_entry.entry_changes(config_entry.current_entry(source, agent_id), entry))}
        if not changes:
            return False
        patch = config_entry.merge_patch(config_entry.roster_shape(source), changes)
        params: dict[str, Any] = {"raw": _json(patch)}
        if isinstance(answer, dict) and answer.get("hash"):
            params["baseHash"] = answer["hash"]
        try:
            client.call("config.patch", params, timeout=CONFIG_WRITE_TIMEOUT)
        except RequestError as exc:
            if exc.is_stale_hash and attempt == 0:
                continue  # someone else wrote the config between our read and our patch
            raise
        return True
    return True


def _source_config(answer: Any) -> dict[str, Any]:
    """The config as its file holds it (what a merge patch applies to), without defaults."""
    if not isinstance(answer, dict):
        return {}
    for key in ("parsed", "sourceConfig", "config"):
        if isinstance(answer.get(key), dict):
            return answer[key]
    return {}


def _json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _digest(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def write_files(client: GatewayClient, agent: Agent, gateway_agent_id: str, listing: dict[str, dict[str, Any]],
                report: Report, *, first: bool) -> None:
    """Writes the workspace files that need it; skips the unchanged, the agent's own and the refused."""
    known = (agent.provision_report or {}).get("files", {})
    refused_before = {name for name, why in (agent.provision_report or {}).get("files_skipped", {}).items()
                      if why == UNSUPPORTED_REASON}
    drafts = workspace.render_workspace(agent, TOKEN_PLACEHOLDER)
    token: str | None = None
    for draft in drafts:
        listed = listing.get(draft.name)
        previous = known.get(draft.name) or {}
        # Some releases leave files out of their listing (2026.9 omits IDENTITY.md): one we
        # wrote and the gateway does not call missing is taken as still there.
        present = (not listed.get("missing")) if listed is not None else bool(previous)
        digest = _digest(draft.content)
        if draft.name in workspace.AGENT_OWNED_FILES and present and not first:
            report.files_skipped[draft.name] = KEPT_REASON
            continue
        if draft.name in refused_before and not first:
            report.files_skipped[draft.name] = UNSUPPORTED_REASON
            continue
        # A token waiting to be written makes the files that carry it change, whatever the rest.
        carries_new_token = bool(agent.pending_token) and TOKEN_PLACEHOLDER in draft.content
        size = (listed or {}).get("size")
        unchanged = previous.get("digest") == digest and present and size in (None, previous.get("size"))
        if not first and unchanged and not carries_new_token:
            report.files[draft.name] = previous
            continue
        content = draft.content
        if TOKEN_PLACEHOLDER in content:
            token = token or resolve_token(client, agent, gateway_agent_id, listing)
            content = content.replace(TOKEN_PLACEHOLDER, token)
        try:
            client.call("agents.files.set", {"agentId": gateway_agent_id, "name": draft.name, "content": content})
        except RequestError as exc:
            if exc.is_unsupported_file:
                report.files_skipped[draft.name] = UNSUPPORTED_REASON
                continue
            raise
        report.files_written.append(draft.name)
        report.files[draft.name] = {"digest": digest, "size": len(content.encode())}
        report.token_written = report.token_written or token is not None and token in content


def resolve_token(client: GatewayClient, agent: Agent, gateway_agent_id: str,
                  listing: dict[str, dict[str, Any]]) -> str:
    """The token to write: the one minted for the workspace, else the one it already holds
    (when still current), else a new one (the old stays valid for the rotation grace)."""
    if agent.pending_token:
        token = tokens.unseal(agent.pending_token)
        if token is not None and tokens.matches(agent, token) == "current":
            return token
    # Only a workspace we (or the earlier Mission Control) wrote can hold a current token.
    readable = agent.provisioned_at is not None or agent.gateway_agent_id
    for name in ("AGENTS.md", "TOOLS.md") if readable else ():
        entry = listing.get(name)
        if entry is None or entry.get("missing"):
            continue
        try:
            answer = client.call("agents.files.get", {"agentId": gateway_agent_id, "name": name})
        except RequestError:
            continue
        found = workspace.read_token(file_content(answer))
        if found and tokens.matches(agent, found) == "current":
            return found
    with transaction.atomic():
        token = tokens.mint_token(agent, grace=tokens.ROTATION_GRACE if agent.provisioned_at else None)
        # Sealed at once: a retry after a failed write writes this same token.
        agent.pending_token = tokens.seal(token)
        Agent.objects.filter(pk=agent.pk).update(pending_token=agent.pending_token)
    return token


def file_content(answer: Any) -> str:
    if isinstance(answer, dict):
        file = answer.get("file")
        if isinstance(file, dict) and isinstance(file.get("content"), str):
            return file["content"]
        if isinstance(answer.get("content"), str):
            return answer["content"]
    return answer if isinstance(answer, str) else ""


def wake_text(agent: Agent, mode: str) -> str:
    verb = "set up" if mode == "provision" or agent.provisioned_at is None else "updated"
    first = "If BOOTSTRAP.md exists, follow it first. " if agent.role == "lead" else ""
    return (f"Mission Control: {agent.name}, your workspace was {verb}. {first}Read AGENTS.md again now: it "
            "holds your current token and what to do. Then check in with the first command of its section "
            "'Every heartbeat'.")


def wake(client: GatewayClient, agent: Agent, session_key: str, *, mode: str, generation: int) -> None:
    # One key per run: the client may resend after a dropped connection, the gateway answers
    # "in_flight" instead of waking the agent twice.
    client.call("chat.send", {"sessionKey": session_key, "message": wake_text(agent, mode),
                              "idempotencyKey": f"mc-wake-{agent.pk}-{generation}"})
