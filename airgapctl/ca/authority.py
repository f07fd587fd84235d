"""``ca init``: a new self-signed CA, its encrypted key, an empty index and a first, empty CRL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from airgapctl.ca.crl import DEFAULT_CRL_DAYS, sign_crl
from airgapctl.ca.files import PRIVATE, PUBLIC, exclusive, make_private_dir, write_new
from airgapctl.ca.keys import ALGORITHMS, encrypted_pem, generate_key, key_usage, signature_hash
from airgapctl.ca.names import check_value, subject_text
from airgapctl.ca.passphrase import Passphrase, check_new_passphrase
from airgapctl.ca.store import BACKDATE, CaStore, Index, format_time, serial_text
from airgapctl.errors import BadInputError

DEFAULT_CA_DAYS = 3650


@dataclass
class CaCreated:
    directory: str
    certificate: str
    key: str
    crl: str
    subject: str
    algorithm: str
    serial: str
    not_before: str
    not_after: str
    sha256: str
    crl_number: int
    crl_next_update: str


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def refuse_existing(directory: Path) -> None:
    """Refuse a ``directory`` that holds anything: a CA is created once, into a new or empty directory."""
    directory = Path(directory)
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise BadInputError(f"{directory} exists and is not a directory", hint="give a new or empty directory")
    if not directory.is_dir():
        return
    store = CaStore(directory)
    if store.cert_path.exists() or store.key_path.exists():
        raise BadInputError(
            f"{directory} already holds a CA; refusing to overwrite it",
            hint="a CA is created once; give another --dir for a new one",
        )
    if any(directory.iterdir()):
        raise BadInputError(f"{directory} is not empty", hint="give a new or empty directory for the CA")


def check_request(
    directory: Path,
    name: str,
    *,
    organization: str | None = None,
    algorithm: str = "p256",
    days: int = DEFAULT_CA_DAYS,
    crl_days: int = DEFAULT_CRL_DAYS,
) -> None:
    """Refuse what ``init_ca`` would refuse, without the passphrase: so nobody types it for nothing."""
    check_value(name, "--name")
    if organization is not None:
        check_value(organization, "--org")
    if algorithm not in ALGORITHMS:
        raise BadInputError(f"--algorithm {algorithm!r} is not known", hint=f"use one of: {', '.join(ALGORITHMS)}")
    if days < 1 or crl_days < 1 or crl_days > days:
        raise BadInputError(f"--days {days} and --crl-days {crl_days}: both at least 1, the CRL's within the CA's")
    refuse_existing(directory)


def init_ca(
    directory: Path,
    name: str,
    passphrase: Passphrase,
    *,
    organization: str | None = None,
    algorithm: str = "p256",
    days: int = DEFAULT_CA_DAYS,
    crl_days: int = DEFAULT_CRL_DAYS,
    now: dt.datetime | None = None,
) -> CaCreated:
    """Create the CA in ``directory`` (new or empty); an existing CA is never replaced."""
    directory = Path(directory)
    check_request(directory, name, organization=organization, algorithm=algorithm, days=days, crl_days=crl_days)
    check_new_passphrase(passphrase)
    now = now or dt.datetime.now(dt.UTC)

    key = generate_key(algorithm)
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, name)]
    if organization:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    subject = x509.Name(attributes)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + dt.timedelta(days=days))
        # pathlen 0: this CA signs leaf certificates only, never another CA.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(cert_and_crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, signature_hash(key))
    )

    store = CaStore(directory)
    make_private_dir(directory)
    with exclusive(directory):
        write_new(store.key_path, encrypted_pem(key, passphrase), PRIVATE)
        write_new(store.cert_path, certificate.public_bytes(serialization.Encoding.PEM), PUBLIC)
        make_private_dir(store.certs_dir)
        store.save_index(Index())
        store.save_crl_number(0)
        crl = sign_crl(store, key, certificate, Index(), crl_days, now)
    return CaCreated(
        directory=str(directory),
        certificate=str(store.cert_path),
        key=str(store.key_path),
        crl=str(store.crl_path),
        subject=subject_text(subject),
        algorithm=algorithm,
        serial=serial_text(certificate.serial_number),
        not_before=format_time(certificate.not_valid_before_utc),
        not_after=format_time(certificate.not_valid_after_utc),
        sha256=fingerprint(certificate),
        crl_number=crl.number,
        crl_next_update=crl.next_update,
    )
