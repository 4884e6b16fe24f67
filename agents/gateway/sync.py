"""Sync templates: bring every agent of a gateway to what Mission Control wants, cheaply.

One connection, one ``agents.list``, one ``config.get`` and at most one ``config.patch``
for the whole gateway (none when nothing differs), then per agent one ``agents.files.list``
and a write only of the files whose content changed. Agents are not woken: their next
session reads the new files.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from agents import activity
from agents.gateway import config_entry, naming, provisioning
from agents.gateway.connect import connection
from agents.gateway.errors import GatewayError
from agents.models import Agent, Gateway

logger = logging.getLogger("agents.gateway")


def run(gateway_id: str) -> str:
    gateway = Gateway.objects.filter(pk=gateway_id).first()
    if gateway is None:
        return "gone"
    agents = list(Agent.objects.filter(gateway=gateway).select_related("board", "organization", "gateway")
                  .order_by("board_id", "-is_board_lead", "created_at"))
    started = timezone.now()
    report: dict[str, Any] = {"started_at": started.isoformat(), "agents": {}, "config_patched": False, "errors": {}}
    try:
        client = connection(gateway)
        existing = {item.get("id") for item in (client.call("agents.list", {}) or {}).get("agents", [])
                    if isinstance(item, dict)}
        ids = {agent.pk: naming.gateway_agent_id(agent) for agent in agents}
        for agent in agents:
            if ids[agent.pk] not in existing:
                provisioning.ensure_agent(client, ids[agent.pk], naming.workspace_path(gateway, ids[agent.pk]))
        wanted = {ids[agent.pk]: config_entry.desired_entry(agent, naming.workspace_path(gateway, ids[agent.pk]))
                  for agent in agents}
        report["config_patched"] = provisioning.apply_config(client, wanted) if wanted else False
        for agent in agents:
            report["agents"][str(agent.pk)] = _sync_agent(client, agent, ids[agent.pk], report)
    except GatewayError as exc:
        report["errors"]["gateway"] = exc.sentence
    finished = timezone.now()
    report["finished_at"] = finished.isoformat()
    written = sum(len(item.get("files_written", [])) for item in report["agents"].values())
    with transaction.atomic():
        Gateway.objects.filter(pk=gateway.pk).update(synced_at=finished, sync_report=report)
        activity.record("gateway.synced", actor=None, organization=gateway.organization_id,
                        message=(f"Templates of {gateway.name} synced: {len(report['agents'])} agents, "
                                 f"{written} files written, config {'patched' if report['config_patched'] else 'unchanged'}"
                                 + (f"; {len(report['errors'])} errors." if report["errors"] else ".")),
                        data={"gateway_id": str(gateway.pk), "agents": len(report["agents"]), "files_written": written,
                              "config_patched": report["config_patched"], "errors": report["errors"]})
    return "synced" if not report["errors"] else "synced with errors"


def _sync_agent(client: Any, agent: Agent, gateway_agent_id: str, report: dict[str, Any]) -> dict[str, Any]:
    assert agent.gateway is not None
    path = naming.workspace_path(agent.gateway, gateway_agent_id)
    one = provisioning.Report(gateway_agent_id, path, naming.session_key(gateway_agent_id), "sync")
    try:
        listing = provisioning.wait_for_agent(client, gateway_agent_id)
        provisioning.write_files(client, agent, gateway_agent_id, listing, one, first=agent.provisioned_at is None)
    except GatewayError as exc:
        report["errors"][str(agent.pk)] = exc.sentence
        return {"error": exc.sentence}
    now = timezone.now()
    previous = agent.provision_report or {}
    # The workspace holds the token now: nothing waits sealed any more.
    sealed = {"pending_token": ""} if one.token_written else {}
    Agent.objects.filter(pk=agent.pk).update(
        **sealed, gateway_agent_id=gateway_agent_id, provisioned_at=agent.provisioned_at or now,
        provision_report={**previous, "files": {**previous.get("files", {}), **one.files},
                          "files_skipped": one.files_skipped, "synced_at": now.isoformat()})
    return {"files_written": one.files_written, "files_skipped": one.files_skipped}
