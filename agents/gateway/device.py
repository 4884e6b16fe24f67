"""This installation's device identity towards gateways: one database row, made on first use.

Every process of every host signs with the same Ed25519 key, so a gateway pairs
Mission Control once; the key lives in the database, so it survives restarts and a
backup/restore, and no API or admin page shows it.
"""

from __future__ import annotations

from functools import lru_cache

from django.db import IntegrityError, transaction

from agents.gateway.identity import DeviceIdentity
from agents.models import GatewayIdentity


def _identity_pem() -> str:
    row = GatewayIdentity.objects.filter(pk=1).first()
    if row is not None:
        return row.private_key_pem
    identity = DeviceIdentity.generate()
    try:
        with transaction.atomic():
            row = GatewayIdentity.objects.create(pk=1, private_key_pem=identity.private_pem(),
                                                 device_id=identity.device_id)
    except IntegrityError:
        # Another process made it first: everyone uses that one.
        row = GatewayIdentity.objects.get(pk=1)
    return row.private_key_pem


@lru_cache(maxsize=2)
def _from_pem(pem: str) -> DeviceIdentity:
    return DeviceIdentity.from_private_pem(pem)


def installation_identity() -> DeviceIdentity:
    return _from_pem(_identity_pem())


def device_id() -> str:
    return installation_identity().device_id
