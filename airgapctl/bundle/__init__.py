"""The signed offline bundle: the root of trust that crosses the air gap.

trust/       the trust rules, once and stdlib-only (exit codes, manifest format, file checks,
             sequence state, ledger); the airgap_repo role ships a byte-identical copy
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

from importlib import import_module
from typing import Any

# Loaded on first use: airgapctl.errors takes the exit codes from the stdlib-only trust core
# (airgapctl.bundle.trust), and that must not import the whole bundle library on every command.
_EXPORTS = {
    "pack_bundle": "archive",
    "unpack_bundle": "archive",
    "generate_keypair": "keys",
    "key_fingerprint": "keys",
    "load_private_key": "keys",
    "load_public_key": "keys",
    "DEFAULT_LEDGER_PATH": "ledger",
    "verify_ledger": "ledger",
    "Manifest": "manifest",
    "guess_kind": "manifest",
    "seal_bundle": "manifest",
    "join_parts": "split",
    "parse_size": "split",
    "split_bundle": "split",
    "verify_part": "split",
    "inspect_bundle": "summary",
    "VerifyResult": "verify",
    "verify_bundle": "verify",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"airgapctl.bundle.{_EXPORTS[name]}"), name)


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
