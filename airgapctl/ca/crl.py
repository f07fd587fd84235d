"""Revocation and the CRL: ``ca revoke``, ``ca crl``, and the appliance's check of the CRL it serves.

NGINX's ssl_crl refuses every client certificate once the CRL is past its next update (or
before its last update), so a CRL is reissued on a fixed cadence, well before it runs out,
and the appliance checks the one it is given (``ca check-crl``) before NGINX gets it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID

from airgapctl.ca.files import PUBLIC, exclusive, read_bounded, write_atomic
from airgapctl.ca.keys import PrivateKey, load_ca_key, signature_hash
from airgapctl.ca.names import subject_text
from airgapctl.ca.passphrase import Passphrase
from airgapctl.ca.store import BACKDATE, CaStore, CertRecord, Index, format_time, load_certificate, parse_time
from airgapctl.errors import AirgapError, BadInputError

DEFAULT_CRL_DAYS = 30
CRL_LIMIT = 16 * 1024 * 1024
REASONS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key-compromise": x509.ReasonFlags.key_compromise,
    "affiliation-changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation-of-operation": x509.ReasonFlags.cessation_of_operation,
    "privilege-withdrawn": x509.ReasonFlags.privilege_withdrawn,
}
REDEPLOY = "run 'airgapctl ca crl' on the CA machine and redeploy it"


@dataclass
class CrlIssued:
    crl: str
    number: int
    last_update: str
    next_update: str
    revoked: int
    copy: str | None = None


@dataclass
class Revoked:
    certificate: CertRecord
    crl: CrlIssued


@dataclass
class CrlCheck:
    crl: str
    ca_cert: str
    issuer: str
    number: int | None
    revoked: int
    last_update: str
    next_update: str | None
    days_left: float | None
    min_valid_days: float
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def sign_crl(
    store: CaStore, key: PrivateKey, ca_cert: x509.Certificate, index: Index, days: int, now: dt.datetime
) -> CrlIssued:
    """Write DIR/crl.pem: every revoked certificate of the index, the next CRL number, ``days`` of validity."""
    next_update = now + dt.timedelta(days=days)
    if next_update > ca_cert.not_valid_after_utc:
        raise BadInputError(
            f"a CRL valid for {days} days would outlive the CA (it expires {format_time(ca_cert.not_valid_after_utc)})",
            hint="give fewer --days, and plan the CA's replacement",
        )
    # The number is saved before the CRL: a crash between the two skips a number, never reuses one.
    number = store.crl_number() + 1
    store.save_crl_number(number)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - BACKDATE)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(_authority_key_id(ca_cert), critical=False)
    )
    revoked = [record for record in index.certificates if record.status == "revoked"]
    for record in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(record.serial, 16))
            .revocation_date(parse_time(record.revoked_at or record.not_before))
        )
        if record.reason and record.reason != "unspecified":  # RFC 5280: no reason code for unspecified
            entry = entry.add_extension(x509.CRLReason(REASONS[record.reason]), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(key, signature_hash(key))
    write_atomic(store.crl_path, crl.public_bytes(serialization.Encoding.PEM), PUBLIC)
    return CrlIssued(str(store.crl_path), number, format_time(now - BACKDATE), format_time(next_update), len(revoked))


def _authority_key_id(ca_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())  # type: ignore[arg-type]
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def refresh_crl(
    store: CaStore,
    passphrase: Passphrase,
    *,
    days: int = DEFAULT_CRL_DAYS,
    copy_to: Path | None = None,
    now: dt.datetime | None = None,
) -> CrlIssued:
    """Issue a fresh CRL (DIR/crl.pem, and a copy at ``copy_to`` for the appliance)."""
    now = now or dt.datetime.now(dt.UTC)
    if days < 1:
        raise BadInputError(f"--days {days}: a CRL is valid for at least 1 day")
    with exclusive(store.directory):
        ca_cert = store.certificate()
        key = load_ca_key(store.key_path, passphrase, ca_cert)
        issued = sign_crl(store, key, ca_cert, store.load_index(), days, now)
        if copy_to is not None:
            write_atomic(Path(copy_to), Path(issued.crl).read_bytes(), PUBLIC)
            issued.copy = str(copy_to)
    return issued


def find_certificate(index: Index, which: str, now: dt.datetime) -> CertRecord:
    """The certificate ``which`` names: a name's unrevoked certificate, else a serial (hex, colons allowed)."""
    unrevoked = [r for r in index.certificates if r.name == which and r.status == "valid"]
    current = [r for r in unrevoked if r.current(now)]
    if len(current) == 1 or len(unrevoked) == 1:
        return (current or unrevoked)[0]
    if unrevoked:
        serials = ", ".join(r.serial for r in unrevoked)
        raise BadInputError(
            f"{which} names {len(unrevoked)} unrevoked certificates ({serials})", hint="give the serial"
        )
    serial = which.replace(":", "").upper().removeprefix("0X").lstrip("0")
    record = index.by_serial(serial) if serial else None
    if record is None:
        if any(r.name == which for r in index.certificates):
            raise BadInputError(f"every certificate of {which} is already revoked", hint="see 'airgapctl ca list'")
        raise BadInputError(f"no certificate named {which!r}, and no such serial", hint="see 'airgapctl ca list'")
    if record.status == "revoked":
        raise BadInputError(f"certificate {record.serial} ({record.name}) was already revoked at {record.revoked_at}")
    return record


def revoke(
    store: CaStore,
    passphrase: Passphrase,
    which: str,
    *,
    reason: str = "unspecified",
    crl_days: int = DEFAULT_CRL_DAYS,
    now: dt.datetime | None = None,
) -> Revoked:
    """Mark a certificate revoked in the index and write a fresh CRL that lists it."""
    now = now or dt.datetime.now(dt.UTC)
    if reason not in REASONS:
        raise BadInputError(f"--reason {reason!r} is not a revocation reason", hint=f"use one of: {', '.join(REASONS)}")
    with exclusive(store.directory):
        index = store.load_index()
        record = find_certificate(index, which, now)
        ca_cert = store.certificate()
        key = load_ca_key(store.key_path, passphrase, ca_cert)  # before any change: a wrong passphrase changes nothing
        record.status, record.revoked_at, record.reason = "revoked", format_time(now), reason
        store.save_index(index)
        issued = sign_crl(store, key, ca_cert, index, crl_days, now)
    return Revoked(record, issued)


def load_crl(path: Path) -> x509.CertificateRevocationList:
    data = read_bounded(path, CRL_LIMIT, "CRL")
    try:
        return x509.load_pem_x509_crl(data)
    except ValueError:
        try:
            return x509.load_der_x509_crl(data)
        except ValueError:
            raise BadInputError(f"CRL {path} is not a PEM or DER certificate revocation list") from None


def check_crl(
    crl_path: Path, ca_cert_path: Path, *, min_valid_days: float = 7, now: dt.datetime | None = None
) -> CrlCheck:
    """Whether NGINX will accept the CRL for the next ``min_valid_days``: signed by the CA, current, not near its end.

    A CRL that fails is reported in ``problem`` (one line: the file, its next update, the fix);
    files that cannot be read at all raise BadInputError.
    """
    now = now or dt.datetime.now(dt.UTC)
    crl, ca_cert = load_crl(crl_path), load_certificate(ca_cert_path, "CA certificate")
    next_update = crl.next_update_utc
    try:
        number = crl.extensions.get_extension_for_oid(ExtensionOID.CRL_NUMBER).value.crl_number
    except x509.ExtensionNotFound:
        number = None
    check = CrlCheck(
        crl=str(crl_path),
        ca_cert=str(ca_cert_path),
        issuer=subject_text(crl.issuer),
        number=number,
        revoked=len(crl),
        last_update=format_time(crl.last_update_utc),
        next_update=format_time(next_update) if next_update else None,
        days_left=round((next_update - now).total_seconds() / 86400, 2) if next_update else None,
        min_valid_days=min_valid_days,
    )
    if crl.issuer != ca_cert.subject:
        check.problem = (
            f"CRL {crl_path} is issued by {check.issuer}, not by the CA of {ca_cert_path}: give that CA's CRL"
        )
    elif not _signature_ok(crl, ca_cert):
        check.problem = f"CRL {crl_path}: its signature does not verify with {ca_cert_path}: {REDEPLOY}"
    elif next_update is None:
        check.problem = f"CRL {crl_path} has no next update, and NGINX cannot tell when it runs out: {REDEPLOY}"
    elif next_update <= now:
        check.problem = f"CRL {crl_path} expired at {check.next_update}; NGINX refuses every client: {REDEPLOY}"
    elif next_update - now < dt.timedelta(days=min_valid_days):
        check.problem = f"CRL {crl_path} expires at {check.next_update}, within {min_valid_days:g} days: {REDEPLOY}"
    elif crl.last_update_utc > now:
        check.problem = (
            f"CRL {crl_path} is not valid before {check.last_update} (next update {check.next_update}); "
            "NGINX refuses every client until then: check this machine's clock"
        )
    return check


def _signature_ok(crl: x509.CertificateRevocationList, ca_cert: x509.Certificate) -> bool:
    try:
        return crl.is_signature_valid(ca_cert.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError):  # a key type a CRL cannot be signed with
        return False


def raise_for(check: CrlCheck) -> None:
    if check.problem:
        raise AirgapError(check.problem)
