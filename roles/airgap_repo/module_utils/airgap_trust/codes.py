"""Exit codes, names and limits of bundle trust, the failure type, and time stamps.

Standard library only (see the package docstring).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# Exit codes: one per rejection class, so scripts (and the Ansible role) can tell them apart.
OK = 0
FAILED = 1
BAD_INPUT = 2
ENVIRONMENT = 3
SIGNATURE = 10  # the manifest's (or a part index's) signature is missing, malformed or wrong
FILE_MISSING = 11  # a file the signed manifest lists is not in the bundle
FILE_EXTRA = 12  # the bundle holds a file or directory the signed manifest does not list
FILE_ALTERED = 13  # a listed file's size or SHA-256 differs from the signed manifest
ROLLBACK = 14  # the sequence is not newer than the last accepted one (rollback or replay)
EXPIRED = 15  # the signed expiry time has passed
FOREIGN_PART = 16  # a part (or a part's index) belongs to another bundle
UNSAFE_ENTRY = 17  # a symlink, hard link, device, fifo, path escape or size bomb
LEDGER_BROKEN = 18  # the import ledger's hash chain is broken
MANIFEST_INVALID = 19  # a correctly signed manifest or part index does not match its format
PART_MISSING = 20  # a part the signed part index lists was not given
PART_ALTERED = 21  # a part's size or SHA-256 differs from the signed part index
ATTESTATION = 22  # no passing test record, or roles/playbooks differ from the tested ones
UNEXPECTED_NAME = 23  # the bundle's name is not the one the site takes
# The rejection classes by name, as the Ansible role reports them.
CLASS_NAMES = {
    SIGNATURE: "signature", FILE_MISSING: "missing", FILE_EXTRA: "extra", FILE_ALTERED: "altered",
    ROLLBACK: "rollback", EXPIRED: "expired", FOREIGN_PART: "foreign-part", UNSAFE_ENTRY: "unsafe",
    LEDGER_BROKEN: "ledger", MANIFEST_INVALID: "invalid", PART_MISSING: "part-missing",
    PART_ALTERED: "part-altered", ATTESTATION: "attestation", BAD_INPUT: "bad-input",
    ENVIRONMENT: "environment", FAILED: "failed", UNEXPECTED_NAME: "name",
}  # fmt: skip

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.json.sig"
RESERVED_NAMES = (MANIFEST_NAME, SIGNATURE_NAME)
MANIFEST_SCHEMA = "airgapctl/bundle-manifest"
# A manifest of 100,000 files is about 20 MB; anything far larger is not ours.
MANIFEST_LIMIT = 64 << 20
KEY_FILE_LIMIT = 64 << 10
SIGNATURE_FILE_LIMIT = 1024
# What a signed manifest describes: an inbound bundle (the key absent means one) or an outbound data package.
MANIFEST_KINDS = ("bundle", "package")
KINDS = ("apt", "wheel", "collection", "spec", "file", "sbom", "toolkit", "role", "playbook", "meta")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
HASH_PREFIX = 12
# 64 raw bytes encode to 86 base64 characters plus "==".
SIGNATURE_TEXT = re.compile(rb"[A-Za-z0-9+/]{86}==\n?")
SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")  # DER SubjectPublicKeyInfo of an Ed25519 key
TIME_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def _encodable(text):
    try:
        text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
        return False
    return True


class TrustError(Exception):
    """A failed trust check: ``code`` is its exit code, ``message`` one line, ``hint`` the fix."""

    def __init__(self, code, message, hint=None):
        # A file name that is not UTF-8 is shown escaped (\xff), so every output can carry the message.
        message = (
            message.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            if _encodable(message)
            else message.encode("utf-8", "backslashreplace").decode("utf-8")
        )
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


def format_utc(moment):
    """``2025-01-31T12:00:00Z``: UTC, second precision (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_utc(text):
    """The aware datetime of a manifest time string; ValueError for anything else."""
    if not isinstance(text, str) or not TIME_PATTERN.fullmatch(text):
        raise ValueError(f"{text!r} is not a UTC time like 2025-01-31T12:00:00Z")
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
