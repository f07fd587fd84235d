"""Keys, detached signatures and the manifest (contract 1): its format, its files, its expiry."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import re

from .codes import (
    BAD_INPUT,
    EXPIRED,
    FILE_ALTERED,
    FILE_EXTRA,
    FILE_MISSING,
    HASH_PREFIX,
    KEY_FILE_LIMIT,
    KINDS,
    MANIFEST_INVALID,
    MANIFEST_KINDS,
    MANIFEST_LIMIT,
    MANIFEST_NAME,
    MANIFEST_SCHEMA,
    RESERVED_NAMES,
    SIGNATURE,
    SIGNATURE_FILE_LIMIT,
    SIGNATURE_NAME,
    SIGNATURE_TEXT,
    SPKI_PREFIX,
    TrustError,
    format_utc,
    parse_utc,
)  # fmt: skip
from .files import hash_files, is_safe_relative_path, list_tree, load_json_strict, read_regular_file

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MANIFEST_KEYS = ("schema", "schema_version", "kind", "name", "version", "sequence", "created", "expires", "key_id",
                  "files", "sbom", "attestation")  # fmt: skip
_OPTIONAL_KEYS = ("expires", "kind")
_FILE_KEYS = ("kind", "path", "sha256", "size")
MAX_SEQUENCE = (1 << 63) - 1
PATH_LIMIT = 4096


def key_id(raw_key):
    """The key id: SHA-256 (hex) of the raw 32-byte public key."""
    return hashlib.sha256(raw_key).hexdigest()


def public_key_from_pem(data, label="public key"):
    """The raw 32-byte key of a PEM 'PUBLIC KEY' (SubjectPublicKeyInfo) holding an Ed25519 key."""
    try:
        lines = [line.strip() for line in data.decode("ascii").strip().splitlines()]
    except UnicodeDecodeError:
        lines = []
    if len(lines) < 3 or lines[0] != "-----BEGIN PUBLIC KEY-----" or lines[-1] != "-----END PUBLIC KEY-----":
        raise TrustError(BAD_INPUT, f"{label} is not a PEM public key", "give the site's bundle key (bundle.pub)")
    try:
        der = base64.b64decode("".join(lines[1:-1]), validate=True)
    except binascii.Error:
        raise TrustError(BAD_INPUT, f"{label} is not valid PEM (base64)") from None
    if len(der) != len(SPKI_PREFIX) + 32 or not der.startswith(SPKI_PREFIX):
        raise TrustError(BAD_INPUT, f"{label} is not an Ed25519 public key")
    return der[len(SPKI_PREFIX) :]


def read_public_key(path):
    """The raw Ed25519 key in the PEM file ``path``."""
    return public_key_from_pem(read_regular_file(path, KEY_FILE_LIMIT, "public key"), f"public key {path}")


def read_signature_file(path, what):
    """The raw 64-byte signature in ``path``; a missing or malformed file is a signature failure."""
    if not os.path.lexists(path):
        raise TrustError(SIGNATURE, f"{what} signature {path} is missing", "the bundle was never sealed")
    text = read_regular_file(path, SIGNATURE_FILE_LIMIT, f"{what} signature")
    if not SIGNATURE_TEXT.fullmatch(text):
        raise TrustError(SIGNATURE, f"{what} signature {path} is not one line of base64 of a 64-byte signature")
    return base64.b64decode(text.strip(), validate=True)


def check_signature(signature_ok, raw_key, data, signature, what):
    """Raise a SIGNATURE TrustError unless ``signature`` is ``raw_key``'s signature of ``data``."""
    if not signature_ok(raw_key, data, signature):
        raise TrustError(
            SIGNATURE,
            f"{what} signature does not verify with key {key_id(raw_key)[:16]}: "
            "the file was altered or signed by another (unknown) key",
            "check that the public key is this site's bundle key and that the media were not altered",
        )


# The manifest (contract 1).


def _invalid(label, pointer, problem):
    hint = "the manifest was signed but does not follow airgapctl/schemas/manifest.schema.json"
    return TrustError(MANIFEST_INVALID, f"{label}: {pointer}: {problem}", hint)


def _is_int(value):
    return type(value) is int


def _check_text(document, key, pattern, label):
    value = document[key]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _invalid(label, f"/{key}", f"{value!r} does not match {pattern.pattern!r}")


def _check_time(document, key, label, optional=False):
    value = document.get(key)
    if optional and value is None:
        return
    try:
        parse_utc(value)
    except ValueError as error:
        raise _invalid(label, f"/{key}", str(error)) from None


def _check_file_entry(index, entry, label):
    pointer = f"/files/{index}"
    if not isinstance(entry, dict):
        raise _invalid(label, pointer, "is not an object")
    if sorted(entry) != list(_FILE_KEYS):
        raise _invalid(label, pointer, f"has keys {sorted(entry)}, expected exactly {list(_FILE_KEYS)}")
    path = entry["path"]
    if not is_safe_relative_path(path) or len(path) > PATH_LIMIT or path in RESERVED_NAMES:
        raise _invalid(label, f"{pointer}/path", f"path {path!r} is not allowed in a bundle")
    if not _is_int(entry["size"]) or entry["size"] < 0:
        raise _invalid(label, f"{pointer}/size", f"{entry['size']!r} is not a size in bytes")
    if not isinstance(entry["sha256"], str) or not _SHA256.fullmatch(entry["sha256"]):
        raise _invalid(label, f"{pointer}/sha256", f"{entry['sha256']!r} is not a SHA-256 in lower-case hex")
    if entry["kind"] not in KINDS:
        raise _invalid(label, f"{pointer}/kind", f"{entry['kind']!r} is not one of {', '.join(KINDS)}")


def _check_files_list(files, label):
    if not isinstance(files, list):
        raise _invalid(label, "/files", "is not an array")
    previous = None
    for index, entry in enumerate(files):
        _check_file_entry(index, entry, label)
        if previous is not None and entry["path"] <= previous:
            problem = "listed twice" if entry["path"] == previous else "out of order"
            raise _invalid(label, f"/files/{index}/path", f"{entry['path']!r} is {problem}")
        previous = entry["path"]


def check_manifest(document, label):
    """Raise MANIFEST_INVALID unless ``document`` is a manifest as the schema and the rules around it say."""
    if not isinstance(document, dict):
        raise _invalid(label, "/", "is not a JSON object")
    unknown = sorted(set(document) - set(_MANIFEST_KEYS))
    if unknown:
        raise _invalid(label, "/", f"unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(_MANIFEST_KEYS))}")
    missing = [key for key in _MANIFEST_KEYS if key not in document and key not in _OPTIONAL_KEYS]
    if missing:
        raise _invalid(label, "/", f"required key {missing[0]!r} is missing")
    if (
        document["schema"] != MANIFEST_SCHEMA
        or not _is_int(document["schema_version"])
        or document["schema_version"] != 1
    ):
        raise _invalid(label, "/schema", f"not an {MANIFEST_SCHEMA} document of schema_version 1")
    if document.get("kind", "bundle") not in MANIFEST_KINDS:
        raise _invalid(label, "/kind", f"{document['kind']!r} is not one of {', '.join(MANIFEST_KINDS)}")
    _check_text(document, "name", _NAME, label)
    _check_text(document, "version", _VERSION, label)
    sequence = document["sequence"]
    if not _is_int(sequence) or not 1 <= sequence <= MAX_SEQUENCE:
        raise _invalid(label, "/sequence", f"{sequence!r} is not a whole number from 1 to {MAX_SEQUENCE}")
    _check_time(document, "created", label)
    _check_time(document, "expires", label, optional=True)
    _check_text(document, "key_id", _SHA256, label)
    _check_files_list(document["files"], label)
    sbom = document["sbom"]
    if sbom is not None and (not isinstance(sbom, str) or sbom not in {entry["path"] for entry in document["files"]}):
        raise _invalid(label, "/sbom", f"{sbom!r} is not one of the listed files")
    if document["attestation"] is not None and not isinstance(document["attestation"], dict):
        raise _invalid(label, "/attestation", "is neither an object nor null")
    return document


def manifest_kind(manifest):
    """What a checked manifest describes: ``bundle`` unless it says otherwise."""
    return manifest.get("kind", "bundle")


def check_kind(manifest, expected):
    """Refuse a package where a bundle is expected, and the other way round: the keys may differ, the rule not."""
    found = manifest_kind(manifest)
    if found != expected:
        article = {"bundle": "a bundle", "package": "a data package"}
        raise TrustError(
            MANIFEST_INVALID,
            f"{MANIFEST_NAME}: /kind: {manifest['name']} is {article[found]}, not {article[expected]}",
            "bundles are checked with airgapctl bundle verify, data packages with airgapctl sync import",
        )


def read_signed_manifest(root, raw_key, signature_ok):
    """(manifest document, SHA-256 of its bytes), only once its signature verified with ``raw_key``."""
    path = os.path.join(root, MANIFEST_NAME)
    if not os.path.lexists(path):
        raise TrustError(SIGNATURE, f"{path} is missing: nothing in this directory is signed",
                         "give the bundle directory that holds manifest.json and manifest.json.sig")  # fmt: skip
    data = read_regular_file(path, MANIFEST_LIMIT, "manifest")
    signature = read_signature_file(os.path.join(root, SIGNATURE_NAME), MANIFEST_NAME)
    try:
        check_signature(signature_ok, raw_key, data, signature, MANIFEST_NAME)
    except TrustError as error:
        claimed = f" (the manifest claims key {_claimed_key_id(data)}, unverified)"
        raise TrustError(error.code, error.message + claimed, error.hint) from None
    manifest = check_manifest(load_json_strict(data, MANIFEST_NAME), MANIFEST_NAME)
    if manifest["key_id"] != key_id(raw_key):
        raise TrustError(
            SIGNATURE,
            f"{MANIFEST_NAME} names key {manifest['key_id'][:HASH_PREFIX]} but verified with key "
            f"{key_id(raw_key)[:HASH_PREFIX]}: refusing a manifest that misstates its signer",
        )
    return manifest, hashlib.sha256(data).hexdigest()


def _claimed_key_id(data):
    """For the message only: the key id an unverified manifest claims, or '?'."""
    try:
        claimed = json.loads(data).get("key_id")
    except (ValueError, AttributeError, RecursionError):
        return "?"
    # Unsigned text: shown only when it is a key id, so it cannot carry control characters.
    return claimed[:HASH_PREFIX] if isinstance(claimed, str) and _SHA256.fullmatch(claimed) else "?"


def _count(problems, what):
    return "" if len(problems) == 1 else f" (and {len(problems) - 1} more {what})"


def check_files(root, files, progress=None):
    """Every listed file present, nothing else, every size and hash as signed.

    ``files`` is the manifest's list; ``progress(total_bytes, count)``, when given, returns a
    context manager whose value is called with (bytes, files) as hashing goes.
    """
    present, empty_dirs = list_tree(root, skip=RESERVED_NAMES)  # a symlink or device anywhere is refused here
    listed = {entry["path"]: entry for entry in files}
    missing = sorted(set(listed) - set(present))
    if missing:
        raise TrustError(FILE_MISSING, f"file missing: {missing[0]}{_count(missing, 'missing files')}")
    extra = sorted([*(set(present) - set(listed)), *(f"{d}/" for d in empty_dirs)])
    if extra:
        raise TrustError(FILE_EXTRA, f"file not in the manifest: {extra[0]}{_count(extra, 'unlisted entries')}")
    for path, entry in listed.items():
        if present[path] != entry["size"]:
            raise TrustError(
                FILE_ALTERED, f"file altered: {path}: {present[path]} bytes, the manifest says {entry['size']}"
            )
    bar = progress(sum(present.values()), len(present)) if progress else contextlib.nullcontext(None)
    with bar as report:
        digests = hash_files(root, present, report=report)
    for path, entry in listed.items():
        size, sha256 = digests[path]
        if sha256 != entry["sha256"] or size != entry["size"]:
            raise TrustError(
                FILE_ALTERED,
                f"file altered: {path}: sha256 expected {entry['sha256'][:HASH_PREFIX]}, found {sha256[:HASH_PREFIX]}",
            )


def check_expiry(manifest, now):
    expires = manifest.get("expires")
    if expires is not None and now >= parse_utc(expires):
        raise TrustError(
            EXPIRED,
            f"bundle {manifest['name']} sequence {manifest['sequence']} expired at {expires} (now {format_utc(now)})",
            "build and seal a fresh bundle on the connected side",
        )
