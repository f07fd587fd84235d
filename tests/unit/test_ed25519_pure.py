"""The appliance-side Ed25519 verifier agrees with the cryptography library and RFC 8032."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SOURCE = Path(__file__).parents[2] / "roles/airgap_repo/module_utils/airgap_ed25519.py"
spec = importlib.util.spec_from_file_location("airgap_ed25519", SOURCE)
ed = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ed)


def test_rfc8032_test_vector_1():
    public = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    signature = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    assert ed.verify(public, b"", signature)
    assert not ed.verify(public, b"x", signature)


@pytest.mark.parametrize("size", [0, 1, 100, 5000])
def test_agrees_with_cryptography_on_random_keys_and_tampering(size):
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    message = os.urandom(size)
    signature = key.sign(message)
    assert ed.verify(public, message, signature)
    assert not ed.verify(public, message + b"!", signature)
    flipped = bytearray(signature)
    flipped[5] ^= 1
    assert not ed.verify(public, message, bytes(flipped))
    other = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    assert not ed.verify(other, message, signature)


def test_rejects_non_canonical_scalar_and_bad_lengths():
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    signature = key.sign(b"m")
    s = int.from_bytes(signature[32:], "little") + ed.L  # same point, non-canonical encoding
    assert not ed.verify(public, b"m", signature[:32] + s.to_bytes(32, "little"))
    assert not ed.verify(public, b"m", signature[:63])
    assert not ed.verify(public[:31], b"m", signature)


def test_the_trust_core_reads_pem_public_keys_as_cryptography_writes_them():
    from airgapctl.bundle import trust

    key = Ed25519PrivateKey.generate().public_key()
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert trust.public_key_from_pem(pem) == raw
    for bad in (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", b"\xff", b""):
        with pytest.raises(trust.TrustError) as error:
            trust.public_key_from_pem(bad)
        assert error.value.code == trust.BAD_INPUT
