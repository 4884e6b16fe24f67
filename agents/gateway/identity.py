"""The Ed25519 device identity Mission Control presents to an OpenClaw gateway.

A gateway knows a device by the SHA-256 of its raw public key and checks a signature
over the connect parameters; pairing approves that device id. This module only makes,
loads and uses keys: storing the private key is the caller's business (the database).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def base64url(data: bytes) -> str:
    """Base64url without padding, the encoding the gateway uses for keys and signatures."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class DeviceIdentity:
    """One Ed25519 key pair and the names the gateway knows it by."""

    __slots__ = ("_key", "_public_raw", "device_id", "public_key")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self._public_raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        # The gateway refuses a device whose id is anything but this digest.
        self.device_id: str = hashlib.sha256(self._public_raw).hexdigest()
        self.public_key: str = base64url(self._public_raw)

    @classmethod
    def generate(cls) -> DeviceIdentity:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_private_pem(cls, pem: str | bytes) -> DeviceIdentity:
        """Loads a key written by :meth:`private_pem`; anything but an unencrypted Ed25519
        PKCS#8 key is a ``ValueError``."""
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the PEM holds a private key, but not an Ed25519 one")
        return cls(key)

    def private_pem(self) -> str:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    def public_key_bytes(self) -> bytes:
        return self._public_raw

    def sign(self, text: str) -> str:
        return base64url(self._key.sign(text.encode("utf-8")))

    def __repr__(self) -> str:
        # Never the key itself: identities end up in logs and tracebacks.
        return f"DeviceIdentity(device_id={self.device_id[:12]}…)"
