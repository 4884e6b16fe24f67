"""This process's live connection to a gateway, signed with the installation's identity."""

from __future__ import annotations

from agents.gateway.client import GatewayClient, GatewayEndpoint
from agents.gateway.device import installation_identity
from agents.gateway.pool import client_for
from agents.models import Gateway


def endpoint_of(gateway: Gateway) -> GatewayEndpoint:
    return GatewayEndpoint(url=gateway.url, token=gateway.token, allow_insecure_tls=gateway.allow_insecure_tls)


def connection(gateway: Gateway) -> GatewayClient:
    """This process's live client of ``gateway`` (opened, or reopened, as needed)."""
    return client_for(str(gateway.pk), endpoint_of(gateway), installation_identity())
