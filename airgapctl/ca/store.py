"""The CA directory: what it holds, where, and its index of every certificate it issued.

    DIR/            mode 0700
      ca.crt        the CA certificate (PEM)
      ca.key        its private key, PKCS#8 encrypted with the passphrase (mode 0600)
      index.json    every issued certificate, valid or revoked (below)
      certs/        each issued certificate, as <SERIAL>.crt (hex, upper case)
      crl.pem       the current CRL
      crlnumber     the number of the current CRL (CRL numbers only ever increase)
      .lock         held while a command changes the directory

Leaf private keys are never kept here: they exist only where ``ca issue --out`` wrote them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from airgapctl.ca.files import PRIVATE, PUBLIC, read_bounded, write_atomic, write_new
from airgapctl.errors import BadInputError
from airgapctl.output import progress

INDEX_VERSION = 1
KINDS = ("server", "client")
STATUSES = ("valid", "revoked")
CERT_LIMIT = 64 * 1024
INDEX_LIMIT = 64 * 1024 * 1024
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Appliances without a time source drift: certificates and CRLs start a little in the past so
# that a clock behind the CA machine's does not refuse them as not yet valid.
BACKDATE = dt.timedelta(hours=1)


def format_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=dt.UTC)


def serial_text(serial: int) -> str:
    return f"{serial:X}"


@dataclass
class CertRecord:
    """One issued certificate, as index.json lists it."""

    serial: str
    kind: str
    name: str
    subject: str
    sans: list[str]
    not_before: str
    not_after: str
    status: str = "valid"
    revoked_at: str | None = None
    reason: str | None = None

    def expired(self, now: dt.datetime) -> bool:
        return parse_time(self.not_after) <= now

    def current(self, now: dt.datetime) -> bool:
        """Valid and not expired: the certificate a name stands for."""
        return self.status == "valid" and not self.expired(now)


@dataclass
class Index:
    certificates: list[CertRecord] = field(default_factory=list)

    def by_serial(self, serial: str) -> CertRecord | None:
        return next((record for record in self.certificates if record.serial == serial), None)

    def current(self, name: str, now: dt.datetime) -> CertRecord | None:
        return next((r for r in self.certificates if r.name == name and r.current(now)), None)


@dataclass(frozen=True)
class CaStore:
    directory: Path

    @property
    def cert_path(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def key_path(self) -> Path:
        return self.directory / "ca.key"

    @property
    def index_path(self) -> Path:
        return self.directory / "index.json"

    @property
    def certs_dir(self) -> Path:
        return self.directory / "certs"

    @property
    def crl_path(self) -> Path:
        return self.directory / "crl.pem"

    @property
    def crl_number_path(self) -> Path:
        return self.directory / "crlnumber"

    def issued_path(self, serial: str) -> Path:
        return self.certs_dir / f"{serial}.crt"

    def certificate(self) -> x509.Certificate:
        return load_certificate(self.cert_path, "CA certificate")

    # --- the index

    def load_index(self) -> Index:
        path = self.index_path
        data = read_bounded(path, INDEX_LIMIT, "CA index")
        try:
            document = json.loads(data)
            if document.get("version") != INDEX_VERSION:
                raise ValueError(f"version {document.get('version')!r}, expected {INDEX_VERSION}")
            records = [_record(entry) for entry in document["certificates"]]
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise BadInputError(
                f"CA index {path} is damaged: {error}", hint="restore the CA directory from its backup"
            ) from None
        return Index(records)

    def save_index(self, index: Index) -> None:
        document = {"version": INDEX_VERSION, "certificates": [asdict(record) for record in index.certificates]}
        write_atomic(self.index_path, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode(), PRIVATE)

    def store_issued(self, serial: str, pem: bytes) -> None:
        write_new(self.issued_path(serial), pem, PUBLIC)

    # --- the CRL number

    def crl_number(self) -> int:
        text = read_bounded(self.crl_number_path, 64, "CRL number file").decode("ascii", "replace").strip()
        if not text.isdigit():
            raise BadInputError(
                f"CRL number file {self.crl_number_path} holds {text!r}, not a number",
                hint="restore the CA directory from its backup",
            )
        return int(text)

    def save_crl_number(self, number: int) -> None:
        write_atomic(self.crl_number_path, f"{number}\n".encode(), PRIVATE)


def _record(entry: dict[str, Any]) -> CertRecord:
    record = CertRecord(**entry)
    if record.kind not in KINDS or record.status not in STATUSES:
        raise ValueError(f"serial {record.serial}: kind {record.kind!r}, status {record.status!r}")
    parse_time(record.not_after)
    return record


def load_certificate(path: Path, what: str) -> x509.Certificate:
    data = read_bounded(path, CERT_LIMIT, what)
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        try:
            return x509.load_der_x509_certificate(data)
        except ValueError:
            raise BadInputError(f"{what} {path} is not a PEM or DER X.509 certificate") from None


def open_ca(directory: Path) -> CaStore:
    """The CA in ``directory``, which ``ca init`` created; nothing is decrypted yet."""
    store = CaStore(Path(directory))
    init_hint = f"create it with 'airgapctl ca init --dir {directory} --name ...', or give the right --dir"
    if not store.directory.is_dir():
        raise BadInputError(f"CA directory {directory} does not exist", hint=init_hint)
    for path in (store.cert_path, store.key_path, store.index_path, store.crl_number_path):
        if not path.is_file():
            raise BadInputError(f"{directory} is not a CA directory: {path.name} is missing", hint=init_hint)
    _warn_if_open(store)
    return store


def _warn_if_open(store: CaStore) -> None:
    """The key is encrypted, so wider modes (a removable medium's file system) are a warning, not a refusal."""
    for path in (store.directory, store.key_path):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            progress(f"warning: {path} is open to group or others (mode {mode:04o}); chmod go= {path}")
