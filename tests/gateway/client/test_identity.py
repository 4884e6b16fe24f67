"""The device identity: the id a gateway derives from the key, and signatures it can verify."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agents.gateway.identity import DeviceIdentity


def raw_public_key(identity: DeviceIdentity) -> bytes:
    text = identity.public_key
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_the_public_key_is_32_raw_bytes_in_base64url_without_padding():
    identity = DeviceIdentity.generate()
    assert "=" not in identity.public_key and "+" not in identity.public_key and "/" not in identity.public_key
    assert len(raw_public_key(identity)) == 32
    assert raw_public_key(identity) == identity.public_key_bytes()


def test_the_device_id_is_the_sha256_hex_of_the_raw_public_key():
    identity = DeviceIdentity.generate()
    assert identity.device_id == hashlib.sha256(raw_public_key(identity)).hexdigest()
    assert len(identity.device_id) == 64


def test_a_signature_verifies_with_the_public_key_over_the_utf8_text():
    identity = DeviceIdentity.generate()
    text = "v3|device|gateway-client|backend|operator|operator.admin|1|tökén|nonce|linux|"
    signature = identity.sign(text)
    assert "=" not in signature
    key = Ed25519PublicKey.from_public_bytes(raw_public_key(identity))
    key.verify(base64.urlsafe_b64decode(signature + "=="), text.encode("utf-8"))
    with pytest.raises(InvalidSignature):
        key.verify(base64.urlsafe_b64decode(signature + "=="), (text + "x").encode("utf-8"))


def test_the_private_pem_loads_back_into_the_same_device():
    identity = DeviceIdentity.generate()
    pem = identity.private_pem()
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    again = DeviceIdentity.from_private_pem(pem)
    assert again.device_id == identity.device_id
    assert DeviceIdentity.from_private_pem(pem.encode()).public_key == identity.public_key


def test_two_generated_identities_are_different_devices():
    assert DeviceIdentity.generate().device_id != DeviceIdentity.generate().device_id


def test_a_pem_of_another_key_type_is_refused():
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(ValueError, match="not an Ed25519"):
        DeviceIdentity.from_private_pem(other)


def test_the_repr_shows_no_key_material():
    identity = DeviceIdentity.generate()
    shown = repr(identity)
    assert identity.device_id[:12] in shown
    assert identity.public_key not in shown and "PRIVATE" not in shown
