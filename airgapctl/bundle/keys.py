"""Ed25519 signing keys: generation, loading, fingerprints and detached signatures.

A detached signature file holds the base64 (RFC 4648, standard alphabet, padded) of the raw
64-byte Ed25519 signature followed by one newline: text survives copying tools and e-mail
better than raw bytes, and a stray byte is a decoding error rather than a silent mismatch.
"""

from __future__ import annotations

import base64
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from airgapctl.bundle import trust
from airgapctl.bundle.fileio import create_new_file, read_regular_file
from airgapctl.errors import BadInputError, trust_errors

KEY_FILE_LIMIT = trust.KEY_FILE_LIMIT


@dataclass(frozen=True)
class KeyPair:
    private_path: str
    public_path: str
    key_id: str


def key_fingerprint(public_key: Ed25519PublicKey) -> str:
    """The key id: SHA-256 (hex) of the raw 32-byte public key."""
    return trust.key_id(raw_public_key(public_key))


def generate_keypair(private_path: Path, public_path: Path) -> KeyPair:
    """Write a new Ed25519 key pair: private PEM PKCS#8 mode 0600, public PEM SPKI; never overwrite."""
    private_path, public_path = Path(private_path), Path(public_path)
    for path in (private_path, public_path):
        if path.exists() or path.is_symlink():
            raise BadInputError(f"{path} already exists; refusing to overwrite a key", hint="choose another path")
    private_key = Ed25519PrivateKey.generate()
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    create_new_file(private_path, private_pem, 0o600)
    create_new_file(public_path, public_pem, 0o644)
    return KeyPair(str(private_path), str(public_path), key_fingerprint(private_key.public_key()))


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in PEM ``path``; refused when others can read the file."""
    path = Path(path)
    data = read_regular_file(path, KEY_FILE_LIMIT, "private key")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise BadInputError(
            f"private key {path} is readable by group or others (mode {mode:04o})", hint=f"chmod 600 {path}"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise BadInputError(f"private key {path} is not an unencrypted PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BadInputError(f"private key {path} is not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in PEM (SubjectPublicKeyInfo) ``path``, read as the trust core reads it."""
    with trust_errors():
        return Ed25519PublicKey.from_public_bytes(trust.read_public_key(Path(path)))


def sign_detached(private_key: Ed25519PrivateKey, data: bytes) -> bytes:
    """The content of a detached signature file over ``data``."""
    return base64.b64encode(private_key.sign(data)) + b"\n"


def read_signature_file(path: Path, what: str) -> bytes:
    """The raw 64-byte signature in ``path``; a missing or malformed file is a signature failure."""
    with trust_errors():
        return trust.read_signature_file(path, what)


def signature_ok(raw_key: bytes, data: bytes, signature: bytes) -> bool:
    """The trust core's signature check, with the cryptography package."""
    try:
        Ed25519PublicKey.from_public_bytes(raw_key).verify(signature, data)
    except InvalidSignature:
        return False
    return True


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def verify_detached(public_key: Ed25519PublicKey, data: bytes, signature: bytes, what: str) -> None:
    """Raise BundleSignatureError unless ``signature`` is ``public_key``'s signature of ``data``."""
    with trust_errors():
        trust.check_signature(signature_ok, raw_public_key(public_key), data, signature, what)
