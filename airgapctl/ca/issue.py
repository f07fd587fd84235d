"""``ca issue server|client``: a key pair and a certificate signed by the CA, written as OUTDIR/NAME.crt and .key.

The file names are the ones ``airgapctl gateway selftest --certs DIR`` reads (``<client>.crt``,
``<client>.key``), and the client's subject is the one the access policy names it by.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from airgapctl.ca.files import PRIVATE, PUBLIC, exclusive, make_private_dir, write_new
from airgapctl.ca.keys import (
    ALGORITHMS,
    algorithm_of,
    generate_key,
    key_usage,
    load_ca_key,
    plain_pem,
    signature_hash,
)
from airgapctl.ca.names import attribute, check_name, parse_sans, parse_subject, san_text, subject_text
from airgapctl.ca.passphrase import Passphrase
from airgapctl.ca.store import BACKDATE, CaStore, CertRecord, format_time, serial_text
from airgapctl.errors import BadInputError

DEFAULT_DAYS = 365
CA_CERT_NAME = "ca.crt"


@dataclass
class Issued:
    certificate: CertRecord
    cert: str
    key: str
    ca_cert: str
    algorithm: str


def issue_server(
    store: CaStore,
    passphrase: Passphrase,
    name: str,
    sans: list[str],
    out_dir: Path,
    *,
    days: int = DEFAULT_DAYS,
    algorithm: str | None = None,
    now: dt.datetime | None = None,
) -> Issued:
    """A TLS server certificate (serverAuth) for the names and addresses in ``sans``."""
    check_name(name, "server")
    general_names = parse_sans(sans)
    ca_subject = store.certificate().subject
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, name)]
    if organization := attribute(ca_subject, "O"):
        subject.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return _issue(store, passphrase, "server", name, x509.Name(subject), general_names, out_dir, days, algorithm, now)


def default_client_subject(store: CaStore, name: str) -> str:
    """CN=<name>, plus the CA's O when it has one: ``CN=kiosk-1,O=Lab``."""
    organization = attribute(store.certificate().subject, "O")
    return f"CN={name},O={organization}" if organization else f"CN={name}"


def policy_subject(policy_path: Path, name: str) -> str:
    """The subject the compiled policy gives client ``name``: the certificate then matches it by construction."""
    from airgapctl.gateway.policy import load_policy

    policy, label = load_policy(Path(policy_path))
    for client in policy["clients"]:
        if client["name"] == name:
            return client["subject"]
    known = ", ".join(sorted(client["name"] for client in policy["clients"])) or "none"
    raise BadInputError(
        f"{label} has no client {name!r} (clients: {known})", hint="issue under the client's policy name"
    )


def issue_client(
    store: CaStore,
    passphrase: Passphrase,
    name: str,
    out_dir: Path,
    *,
    subject: str | None = None,
    days: int = DEFAULT_DAYS,
    algorithm: str | None = None,
    now: dt.datetime | None = None,
) -> Issued:
    """A TLS client certificate (clientAuth) whose subject is ``subject`` (default: default_client_subject)."""
    check_name(name, "client")
    text = subject if subject is not None else default_client_subject(store, name)
    return _issue(store, passphrase, "client", name, parse_subject(text), [], out_dir, days, algorithm, now)


def _refuse_outputs(store: CaStore, out_dir: Path, name: str, ca_pem: bytes) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise BadInputError(f"--out {out_dir} exists and is not a directory")
    ca_dir = store.directory.resolve()
    if out_dir.resolve() == ca_dir or ca_dir in out_dir.resolve().parents:
        raise BadInputError(
            f"--out {out_dir} is inside the CA directory {store.directory}",
            hint="issued keys are never kept with the CA: give a directory outside it",
        )
    for path in (out_dir / f"{name}.crt", out_dir / f"{name}.key"):
        if path.exists() or path.is_symlink():
            raise BadInputError(
                f"{path} already exists; refusing to overwrite it", hint="move it away, or give another --out"
            )
    ca_copy = out_dir / CA_CERT_NAME
    if (ca_copy.exists() or ca_copy.is_symlink()) and (not ca_copy.is_file() or ca_copy.read_bytes() != ca_pem):
        raise BadInputError(f"{ca_copy} exists and is not this CA's certificate", hint="give another --out")


def _extensions(
    builder: x509.CertificateBuilder, kind: str, public, ca_cert: x509.Certificate, sans: list[x509.GeneralName]
) -> x509.CertificateBuilder:
    usage = ExtendedKeyUsageOID.SERVER_AUTH if kind == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # ECDHE with an ECDSA or Ed25519 key: the key signs the handshake and does nothing else.
        .add_extension(key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder


def _issue(
    store: CaStore,
    passphrase: Passphrase,
    kind: str,
    name: str,
    subject: x509.Name,
    sans: list[x509.GeneralName],
    out_dir: Path,
    days: int,
    algorithm: str | None,
    now: dt.datetime | None,
) -> Issued:
    now = now or dt.datetime.now(dt.UTC)
    out_dir = Path(out_dir)
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise BadInputError(f"--algorithm {algorithm!r} is not known", hint=f"use one of: {', '.join(ALGORITHMS)}")
    if days < 1:
        raise BadInputError(f"--days {days}: a certificate is valid for at least 1 day")
    with exclusive(store.directory):
        index = store.load_index()
        if (existing := index.current(name, now)) is not None:
            raise BadInputError(
                f"{name} already has a valid {existing.kind} certificate (serial {existing.serial},"
                f" expires {existing.not_after})",
                hint=f"revoke it first ('airgapctl ca revoke {name} --reason superseded'), or choose another name",
            )
        ca_cert = store.certificate()
        ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
        _refuse_outputs(store, out_dir, name, ca_pem)
        not_after = now + dt.timedelta(days=days)
        if not_after > ca_cert.not_valid_after_utc:
            raise BadInputError(
                f"a certificate valid for {days} days would outlive the CA"
                f" (it expires {format_time(ca_cert.not_valid_after_utc)})",
                hint="give fewer --days, and plan the CA's replacement",
            )
        ca_key = load_ca_key(store.key_path, passphrase, ca_cert)
        key = generate_key(algorithm or algorithm_of(ca_cert.public_key()))
        serial = x509.random_serial_number()
        while index.by_serial(serial_text(serial)) is not None:  # 159 random bits: for form's sake
            serial = x509.random_serial_number()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - BACKDATE)
            .not_valid_after(not_after)
        )
        certificate = _extensions(builder, kind, key.public_key(), ca_cert, sans).sign(ca_key, signature_hash(ca_key))
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        record = CertRecord(
            serial=serial_text(serial),
            kind=kind,
            name=name,
            subject=subject_text(subject),
            sans=[san_text(san) for san in sans],
            not_before=format_time(certificate.not_valid_before_utc),
            not_after=format_time(certificate.not_valid_after_utc),
        )
        cert_path, key_path, ca_copy = out_dir / f"{name}.crt", out_dir / f"{name}.key", out_dir / CA_CERT_NAME
        if not out_dir.exists():
            make_private_dir(out_dir)  # it will hold a private key in the clear
        written: list[Path] = []
        try:
            for path, data, mode in ((key_path, plain_pem(key), PRIVATE), (cert_path, pem, PUBLIC)):
                write_new(path, data, mode)
                written.append(path)
            store.store_issued(record.serial, pem)
            index.certificates.append(record)
            store.save_index(index)
        except BaseException:
            # Nothing half-done: no certificate out there that the index does not know.
            for path in written:
                with contextlib.suppress(OSError):
                    os.unlink(path)
            raise
        if not ca_copy.exists():
            with contextlib.suppress(BadInputError):  # another run wrote it meanwhile: it was checked above
                write_new(ca_copy, ca_pem, PUBLIC)
    return Issued(record, str(cert_path), str(key_path), str(ca_copy), algorithm_of(key))
