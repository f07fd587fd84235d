"""The site's offline certificate authority for the gateway's mutual TLS.

files.py      atomic writes, new-file-only writes, bounded reads, the directory lock
passphrase.py the CA key's passphrase: from a file, the environment or a terminal prompt
keys.py       key generation (P-256 or Ed25519), the encrypted CA key, signing parameters
names.py      client and server names, certificate subjects (RFC 2253) and SANs
store.py      the CA directory: its layout, its index of issued certificates
authority.py  creating a CA (``ca init``)
issue.py      server and client certificates (``ca issue``)
crl.py        revocation, the CRL (``ca revoke``, ``ca crl``) and the appliance's CRL check
listing.py    what the index holds (``ca list``)
"""

from __future__ import annotations

from airgapctl.ca.authority import CaCreated, init_ca
from airgapctl.ca.crl import CrlCheck, CrlIssued, Revoked, check_crl, refresh_crl, revoke
from airgapctl.ca.issue import Issued, issue_client, issue_server
from airgapctl.ca.listing import Listed, list_certificates
from airgapctl.ca.passphrase import ENV_VAR, Passphrase, read_passphrase
from airgapctl.ca.store import CaStore, CertRecord, open_ca

__all__ = [
    "ENV_VAR",
    "CaCreated",
    "CaStore",
    "CertRecord",
    "CrlCheck",
    "CrlIssued",
    "Issued",
    "Listed",
    "Passphrase",
    "Revoked",
    "check_crl",
    "init_ca",
    "issue_client",
    "issue_server",
    "list_certificates",
    "open_ca",
    "read_passphrase",
    "refresh_crl",
    "revoke",
]
