"""The whole verification, in the one order both front ends follow."""

from __future__ import annotations

import os

from .codes import BAD_INPUT, FAILED, OK, UNEXPECTED_NAME, TrustError, format_utc
from .manifest import check_expiry, check_files, check_kind, read_public_key, read_signed_manifest
from .records import (
    append_attempt,
    check_appendable,
    check_sequence,
    new_attempt,
    read_accepted,
    record_accepted,
    state_lock,
)  # fmt: skip


class Verdict:
    """An accepted bundle: its manifest and digest, and what the sequence check found."""

    def __init__(self, manifest, digest, previous_sequence, sequence_checked, downgrade, warnings):
        self.manifest, self.manifest_sha256 = manifest, digest
        self.previous_sequence, self.sequence_checked = previous_sequence, sequence_checked
        self.downgrade, self.warnings = downgrade, warnings


def _accept(manifest, digest, state_dir, ledger, allow_downgrade, now, commit, attempt):
    """The sequence check, then (when committing) the ledger entry and the state, all under the state
    lock: the ledger records an acceptance before the state moves, so no accepted sequence is ever
    missing from it (if writing the state then fails, the caller records that refusal too)."""
    accepted = "every check passed"
    if state_dir is None:
        warnings = ("sequence not checked: no state directory given",)
        if ledger is not None and commit:
            append_attempt(ledger, attempt, "accepted", "; ".join(warnings), OK, format_utc(now))
        return None, False, False, warnings
    with state_lock(state_dir, create=commit):
        records = read_accepted(state_dir)
        last, downgrade, warnings = check_sequence(manifest, records, allow_downgrade)
        if commit:
            if ledger is not None:
                append_attempt(ledger, attempt, "accepted", "; ".join(warnings) or accepted, OK, format_utc(now))
            record_accepted(state_dir, records, manifest, digest, now)
    return last, True, downgrade, warnings


def _check_name(manifest, expected_name):
    if expected_name is not None and manifest["name"] != expected_name:
        raise TrustError(
            UNEXPECTED_NAME,
            f"bundle {manifest['name']!r} is not the bundle this site takes ({expected_name!r})",
            "bring media of the expected bundle, or name the new one on purpose",
        )


def verify(root, pubkey_path, signature_ok, now, state_dir=None, ledger=None, allow_downgrade=False,
           commit=True, after_files=None, progress=None, expected_name=None, kind="bundle"):  # fmt: skip
    """Verify the bundle directory ``root`` and accept it (state, ledger) only when every check passed.

    Order: the ledger must be appendable; the key is read; the manifest's signature is checked
    before anything it says is used; then its format, its kind (``kind``: a bundle unless told),
    its name (when ``expected_name`` is given), every file, expiry, ``after_files(manifest)``
    (extra checks of the caller), and the sequence. Every attempt, refused or accepted, is
    appended to ``ledger`` when one is given; ``commit`` false checks (the sequence included)
    without writing anything.
    """
    if ledger is not None and commit:
        check_appendable(ledger)  # an attempt we could not record must not start
    attempt = new_attempt(root)
    try:
        if not os.path.isdir(root) or os.path.islink(root):
            raise TrustError(BAD_INPUT, f"bundle directory {root} does not exist or is not a directory")
        raw_key = read_public_key(pubkey_path)
        manifest, digest = read_signed_manifest(root, raw_key, signature_ok)
        attempt.update(bundle=manifest["name"], version=manifest["version"], sequence=manifest["sequence"],
                       manifest_sha256=digest, key_id=manifest["key_id"])  # fmt: skip
        check_kind(manifest, kind)
        _check_name(manifest, expected_name)
        check_files(root, manifest["files"], progress)
        check_expiry(manifest, now)
        if after_files is not None:
            after_files(manifest)
        last, checked, downgrade, warnings = _accept(
            manifest, digest, state_dir, ledger, allow_downgrade, now, commit, attempt
        )
    except Exception as error:
        # A rejection is recorded with its class; an error of the caller's check with its own
        # exit code; an I/O error or a bug still rejects, and is still recorded.
        code = getattr(error, "code", None) if isinstance(error, TrustError) else getattr(error, "exit_code", None)
        message = getattr(error, "message", None) or f"internal error: {error!r}"
        if ledger is not None and commit:
            append_attempt(ledger, attempt, "rejected", message, FAILED if code is None else code, format_utc(now))
        raise
    return Verdict(manifest, digest, last, checked, downgrade, warnings)
