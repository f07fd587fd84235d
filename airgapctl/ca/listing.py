"""``ca list``: every certificate the CA issued, from its index (no passphrase needed)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from airgapctl.ca.names import subject_text
from airgapctl.ca.store import CaStore, CertRecord, format_time


@dataclass
class Listed:
    directory: str
    ca_subject: str
    ca_not_after: str
    certificates: list[CertRecord]
    expired: list[str]  # serials of valid certificates past their not_after

    def state(self, record: CertRecord) -> str:
        """valid, revoked, or expired (valid in the index, past its end)."""
        return "expired" if record.status == "valid" and record.serial in self.expired else record.status


def list_certificates(store: CaStore, now: dt.datetime | None = None) -> Listed:
    now = now or dt.datetime.now(dt.UTC)
    ca_cert = store.certificate()
    records = store.load_index().certificates
    return Listed(
        directory=str(store.directory),
        ca_subject=subject_text(ca_cert.subject),
        ca_not_after=format_time(ca_cert.not_valid_after_utc),
        certificates=records,
        expired=[r.serial for r in records if r.status == "valid" and r.expired(now)],
    )
