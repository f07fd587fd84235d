"""Keys: P-256 or Ed25519, the CA key encrypted at rest, the leaf keys in the clear for NGINX and clients."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from airgapctl.ca.files import read_bounded
from airgapctl.ca.passphrase import Passphrase
from airgapctl.errors import BadInputError

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
ALGORITHMS = ("p256", "ed25519")
KEY_LIMIT = 64 * 1024


def generate_key(algorithm: str) -> PrivateKey:
    if algorithm == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise BadInputError(f"unknown key algorithm {algorithm!r}", hint=f"use one of: {', '.join(ALGORITHMS)}")


def algorithm_of(key: object) -> str:
    """The algorithm name of a private or public key, as ``--algorithm`` spells it."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
        return "p256"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "ed25519"
    raise BadInputError(f"unsupported key type {type(key).__name__}", hint=f"the CA uses {' or '.join(ALGORITHMS)}")


def signature_hash(key: PrivateKey) -> hashes.SHA256 | None:
    """The hash to sign with: SHA-256 for ECDSA; none for Ed25519, which hashes internally."""
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def key_usage(*, digital_signature: bool = False, cert_and_crl_sign: bool = False) -> x509.KeyUsage:
    """keyUsage with only the bits these certificates use set."""
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_and_crl_sign,
        crl_sign=cert_and_crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def encrypted_pem(key: PrivateKey, passphrase: Passphrase) -> bytes:
    """PKCS#8, encrypted with the passphrase (PBES2: PBKDF2-HMAC-SHA256 and AES-256-CBC)."""
    encryption = serialization.BestAvailableEncryption(passphrase.reveal())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def plain_pem(key: PrivateKey) -> bytes:
    """PKCS#8 in the clear: what NGINX's ssl_certificate_key and a client's TLS library read unattended."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_ca_key(path: Path, passphrase: Passphrase, certificate: x509.Certificate) -> PrivateKey:
    """The CA key in ``path``, decrypted; it must be the key of ``certificate``."""
    data = read_bounded(path, KEY_LIMIT, "CA key")
    try:
        key = serialization.load_pem_private_key(data, password=passphrase.reveal())
    except ValueError:
        # cryptography says only "incorrect password" or "could not parse": neither carries the secret.
        raise BadInputError(
            f"cannot decrypt the CA key {path}: wrong passphrase (or not an encrypted PEM key)",
            hint="give the passphrase the CA was created with",
        ) from None
    except TypeError:
        raise BadInputError(f"CA key {path} is not encrypted", hint="a CA key is only ever stored encrypted") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) or key.public_key().public_bytes(
        serialization.Encoding.DER, public
    ) != certificate.public_key().public_bytes(serialization.Encoding.DER, public):
        raise BadInputError(
            f"CA key {path} is not the key of the CA certificate beside it",
            hint="restore the CA directory from its backup",
        )
    return key
