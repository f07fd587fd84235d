"""The signed offline bundle: the root of trust that crosses the air gap.

keys.py      Ed25519 key pairs, fingerprints (key ids), detached signatures (base64, one line)
manifest.py  the manifest (contract 1; schema airgapctl/schemas/manifest.schema.json) and seal_bundle:
             hash a directory, write manifest.json and manifest.json.sig
summary.py   what a manifest claims, unverified (bundle inspect)
verify.py    verify a bundle, failing closed: signature, schema, files, expiry, sequence
state.py     the last accepted sequence per bundle name (accepted.json)
ledger.py    the hash-chained import ledger (ledger.jsonl) and its check
archive.py   deterministic pack to one tar, defensive unpack
parts.py     the signed part index; checking one part alone
split.py     split a bundle across media, join the parts
"""

from __future__ import annotations

from airgapctl.bundle.archive import pack_bundle, unpack_bundle
from airgapctl.bundle.keys import generate_keypair, key_fingerprint, load_private_key, load_public_key
from airgapctl.bundle.ledger import DEFAULT_LEDGER_PATH, verify_ledger
from airgapctl.bundle.manifest import Manifest, guess_kind, seal_bundle
from airgapctl.bundle.split import join_parts, parse_size, split_bundle, verify_part
from airgapctl.bundle.summary import inspect_bundle
from airgapctl.bundle.verify import VerifyResult, verify_bundle

__all__ = [
    "DEFAULT_LEDGER_PATH",
    "Manifest",
    "VerifyResult",
    "generate_keypair",
    "guess_kind",
    "inspect_bundle",
    "join_parts",
    "key_fingerprint",
    "load_private_key",
    "load_public_key",
    "pack_bundle",
    "parse_size",
    "seal_bundle",
    "split_bundle",
    "unpack_bundle",
    "verify_bundle",
    "verify_ledger",
    "verify_part",
]
