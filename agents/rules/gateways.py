"""Gateways: the OpenClaw runtimes that host agents, registered by owners and admins.

The token is a secret: it goes in, never out, and activity records only that it changed.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from agents import access, activity
from agents.models import Gateway, Organization, User
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


def create_gateway(user: User, organization: Organization, data: dict[str, Any]) -> Gateway:
    access.require_admin(user, organization)
    values = _values({"name": None, "url": None, **data})
    with transaction.atomic():
        gateway = Gateway.objects.create(organization=organization, **values)
        activity.record("gateway.created", actor=user, organization=organization,
                        message=f"Gateway {gateway.name} registered", data={"gateway_id": str(gateway.pk)})
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
            gateway.save()
            activity.record("gateway.updated", actor=user, organization=gateway.organization_id,
                            message=f"Gateway {gateway.name} changed",
                            data={"gateway_id": str(gateway.pk), "fields": changed})
    return gateway


def delete_gateway(user: User, gateway: Gateway) -> None:
    access.require_admin(user, gateway.organization_id)
    with transaction.atomic():
        activity.record("gateway.deleted", actor=user, organization=gateway.organization_id,
                        message=f"Gateway {gateway.name} removed", data={"gateway_id": str(gateway.pk)})
        gateway.delete()
