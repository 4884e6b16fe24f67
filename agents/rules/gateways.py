"""Gateways: the OpenClaw runtimes that host agents, registered by owners and admins.

The token is a secret: it goes in, never out, and activity records only that it changed.
Registering a gateway creates its main agent and queues the staged check and the main
agent's provisioning; changing how to reach it queues a new check.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from agents import access, activity
from agents.gateway import tasks
from agents.models import Agent, Gateway, Organization, User
from agents.refusals import RuleViolation
from agents.rules.inputs import flag, name_text, optional_text, unknown_fields

GATEWAY_FIELDS = ("name", "url", "token", "workspace_root", "allow_insecure_tls")
GATEWAY_URL = re.compile(r"^wss?://[^\s/]+")
NAME_MAX_LENGTH = 200
URL_MAX_LENGTH = 500


def _url(value: Any) -> str:
    url = value.strip() if isinstance(value, str) else ""
    if not GATEWAY_URL.match(url) or len(url) > URL_MAX_LENGTH:
        raise RuleViolation(422, "invalid_gateway_url",
                            "A gateway URL starts with ws:// or wss:// and names a host.", field="url")
    return url


def _values(data: dict[str, Any]) -> dict[str, Any]:
    unknown_fields(data, GATEWAY_FIELDS, "gateway")
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = name_text(data["name"], what="A gateway", max_length=NAME_MAX_LENGTH)
    if "url" in data:
        out["url"] = _url(data["url"])
    if "token" in data:
        out["token"] = optional_text(data["token"], "token").strip()
    if "workspace_root" in data:
        out["workspace_root"] = optional_text(data["workspace_root"], "workspace_root", max_length=500).strip()
    if "allow_insecure_tls" in data:
        out["allow_insecure_tls"] = flag(data["allow_insecure_tls"], "allow_insecure_tls")
    return out


MAIN_AGENT_SUFFIX = " main agent"
# Changing one of these changes how the gateway is reached: it is checked again.
REACHED_BY = frozenset({"url", "token", "allow_insecure_tls"})


def create_gateway(user: User, organization: Organization, data: dict[str, Any]) -> Gateway:
    from agents.rules.roster import create_agent

    access.require_admin(user, organization)
    values = _values({"name": None, "url": None, **data})
    with transaction.atomic():
        gateway = Gateway.objects.create(organization=organization, check_status=Gateway.CheckStatus.CHECKING,
                                         check_requested_at=timezone.now(), **values)
        activity.record("gateway.created", actor=user, organization=organization,
                        message=f"Gateway {gateway.name} registered", data={"gateway_id": str(gateway.pk)})
        tasks.enqueue_check(gateway)
        create_agent(user, name=(gateway.name + MAIN_AGENT_SUFFIX)[:200], gateway=gateway)
    return gateway


def request_check(user: User, gateway: Gateway) -> Gateway:
    """Queues the staged check of ``gateway``; its report replaces the last one."""
    access.require_admin(user, gateway.organization_id)
    with transaction.atomic():
        now = timezone.now()
        Gateway.objects.filter(pk=gateway.pk).update(check_status=Gateway.CheckStatus.CHECKING, check_requested_at=now)
        gateway.check_status, gateway.check_requested_at = Gateway.CheckStatus.CHECKING, now
        tasks.enqueue_check(gateway)
        activity.record("gateway.check_requested", actor=user, organization=gateway.organization_id,
                        message=f"Check of gateway {gateway.name} requested", data={"gateway_id": str(gateway.pk)})
    return gateway


def request_sync(user: User, gateway: Gateway) -> Gateway:
    """Queues "sync templates": every agent of the gateway brought to what we want."""
    access.require_admin(user, gateway.organization_id)
    with transaction.atomic():
        tasks.enqueue_sync(gateway)
        activity.record("gateway.sync_requested", actor=user, organization=gateway.organization_id,
                        message=f"Template sync of gateway {gateway.name} requested",
                        data={"gateway_id": str(gateway.pk)})
    return gateway


def update_gateway(user: User, gateway: Gateway, data: dict[str, Any]) -> Gateway:
    """Change a gateway; the event names the changed fields, never a value."""
    access.require_admin(user, gateway.organization_id)
    values = _values(data)
    changed = sorted(name for name, value in values.items() if getattr(gateway, name) != value)
    for name, value in values.items():
        setattr(gateway, name, value)
    if changed:
        with transaction.atomic():
            if REACHED_BY & set(changed):
                gateway.check_status, gateway.check_requested_at = Gateway.CheckStatus.CHECKING, timezone.now()
            gateway.save()
            activity.record("gateway.updated", actor=user, organization=gateway.organization_id,
                            message=f"Gateway {gateway.name} changed",
                            data={"gateway_id": str(gateway.pk), "fields": changed})
            if REACHED_BY & set(changed):
                tasks.enqueue_check(gateway)
            if "workspace_root" in changed:
                tasks.enqueue_sync(gateway)
    return gateway


def delete_gateway(user: User, gateway: Gateway) -> None:
    """Removes the gateway from Mission Control, with its main agent (which exists only
    through it). Board agents stay, without a gateway; nothing is removed on the gateway."""
    access.require_admin(user, gateway.organization_id)
    with transaction.atomic():
        activity.record("gateway.deleted", actor=user, organization=gateway.organization_id,
                        message=f"Gateway {gateway.name} removed", data={"gateway_id": str(gateway.pk)})
        Agent.objects.filter(gateway=gateway, board__isnull=True).delete()
        gateway.delete()
