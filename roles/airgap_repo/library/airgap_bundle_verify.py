#!/usr/bin/python
"""Verify an offline bundle on the appliance with the pinned key, before anything in it is used.

It reads and writes the same formats as ``airgapctl bundle verify`` (manifest.json with a
base64 Ed25519 signature, accepted.json, the hash-chained ledger with its head file) so
``airgapctl bundle ledger verify`` can check the appliance's ledger. It needs only the
Python standard library: the appliance's minimal base has no cryptography package.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: airgap_bundle_verify
short_description: Verify an airgapctl bundle with the pinned public key and record the attempt
description:
  - Checks the signature first, then every file (missing, extra, altered, links), expiry and,
    when O(record) is true, the sequence against the last accepted one; appends the attempt to
    the ledger and records the bundle as accepted only when every check passed.
options:
  path: {description: Bundle directory on the appliance., type: path, required: true}
  pubkey: {description: Pinned Ed25519 public key (PEM) on the appliance., type: path, required: true}
  state_dir: {description: Directory of accepted.json., type: path, default: /var/lib/airgap}
  ledger: {description: Import ledger., type: path, default: /var/lib/airgap/ledger.jsonl}
  allow_downgrade: {description: Accept a sequence not above the last accepted one., type: bool, default: false}
  record:
    description: An import attempt (sequence, ledger, state); false re-checks an installed bundle.
    type: bool
    default: true
author: airgapctl developers
"""

import base64
import datetime as dt
import fcntl
import hashlib
import json
import os
import stat

from ansible.module_utils.airgap_ed25519 import public_key_from_pem, verify
from ansible.module_utils.basic import AnsibleModule

# The exit codes of airgapctl's ExitCode, so a rejection reads the same on both sides.
CODES = {"signature": 10, "missing": 11, "extra": 12, "altered": 13, "rollback": 14, "expired": 15, "unsafe": 17,
         "invalid": 19}  # fmt: skip
SIGNED = ("manifest.json", "manifest.json.sig")


class Rejected(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind, self.message = kind, message


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def signed_manifest(root, pubkey_pem):
    """The manifest, trusted only after its exact bytes verified against the pinned key."""
    try:
        with open(os.path.join(root, "manifest.json"), "rb") as handle:
            data = handle.read()
        with open(os.path.join(root, "manifest.json.sig"), "rb") as handle:
            signature = base64.b64decode(handle.read().strip(), validate=True)
    except (OSError, ValueError) as error:
        raise Rejected("signature", f"manifest or signature missing or unreadable: {error}") from None
    try:
        key = public_key_from_pem(pubkey_pem)
    except ValueError as error:
        raise Rejected("signature", f"the pinned key is unusable: {error}") from None
    if not verify(key, data, signature):
        raise Rejected("signature", "the manifest signature does not verify with the pinned key")
    try:
        manifest = json.loads(data)
    except ValueError:
        raise Rejected("invalid", "the signed manifest is not JSON") from None
    if not isinstance(manifest, dict):
        raise Rejected("invalid", "the signed manifest is not a JSON object")
    for field, kind in (("name", str), ("version", str), ("sequence", int), ("files", list), ("key_id", str)):
        if not isinstance(manifest.get(field), kind):
            raise Rejected("invalid", f"signed manifest lacks a valid {field!r}")
    if manifest["key_id"] != hashlib.sha256(key).hexdigest():
        raise Rejected("signature", f"the manifest names key {manifest['key_id'][:16]}, not the pinned key")
    return manifest, hashlib.sha256(data).hexdigest()


def _present_files(root):
    present = set()
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(directory, name)
            mode = os.lstat(full).st_mode
            relative = os.path.relpath(full, root)
            if stat.S_ISLNK(mode) or not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                raise Rejected("unsafe", f"{relative} is a link or special file")
            if stat.S_ISREG(mode):
                present.add(relative.replace(os.sep, "/"))
    return present


def check_files(root, manifest):
    present = _present_files(root) - set(SIGNED)
    listed = {entry["path"]: entry for entry in manifest["files"]}
    for path in sorted(listed):
        if path not in present:
            raise Rejected("missing", f"{path} is listed in the manifest but missing")
    extra = sorted(present - set(listed))
    if extra:
        raise Rejected("extra", f"{extra[0]} is not listed in the manifest")
    for path, entry in sorted(listed.items()):
        full = os.path.join(root, path)
        size = os.path.getsize(full)
        found = _sha256(full) if size == entry["size"] else f"size {size}"
        if found != entry["sha256"]:
            raise Rejected("altered", f"{path} is altered: expected {entry['sha256'][:16]}, found {found[:16]}")


def check_expiry(manifest, now):
    expires = manifest.get("expires")
    if expires and dt.datetime.fromisoformat(expires.replace("Z", "+00:00")) <= now:
        raise Rejected("expired", f"bundle {manifest['name']} expired at {expires}")


def _atomic_write(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def accept(state_dir, manifest, digest, allow_downgrade, now):
    """Compare with and update accepted.json, the check and the update under one lock."""
    os.makedirs(state_dir, mode=0o750, exist_ok=True)
    path = os.path.join(state_dir, "accepted.json")
    with open(os.path.join(state_dir, "accepted.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        document = {"bundles": {}}
        if os.path.exists(path):
            with open(path) as handle:
                document = json.load(handle)
        previous = document["bundles"].get(manifest["name"])
        last = previous["sequence"] if previous else None
        if last is not None and manifest["sequence"] <= last and not allow_downgrade:
            what = "replay" if manifest["sequence"] == last else "rollback"
            raise Rejected("rollback", f"{what}: bundle {manifest['name']} sequence {manifest['sequence']} is not "
                           f"newer than the last accepted sequence {last}")  # fmt: skip
        highest = max(manifest["sequence"], previous["highest_sequence"] if previous else 0)
        document["bundles"][manifest["name"]] = {
            "sequence": manifest["sequence"], "highest_sequence": highest, "version": manifest["version"],
            "manifest_sha256": digest, "key_id": manifest["key_id"], "accepted": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }  # fmt: skip
        document.update({"schema": "airgapctl/bundle-accepted", "schema_version": 1})
        _atomic_write(path, (json.dumps(document, sort_keys=True, indent=2) + "\n").encode())
    return last


def append_ledger(path, source, manifest, digest, result, reason, code, now):
    """One chained line per attempt, and the head file that catches a cut last line."""
    os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with open(path, "rb") as handle:
            lines = handle.read().splitlines(keepends=True)
        entry = {
            "entry": len(lines) + 1, "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "source": source,
            "bundle": manifest and manifest["name"], "version": manifest and manifest["version"],
            "sequence": manifest and manifest["sequence"], "manifest_sha256": digest,
            "key_id": manifest and manifest["key_id"], "result": result, "reason": reason, "exit_code": code,
            "prev": hashlib.sha256(lines[-1]).hexdigest() if lines else "0" * 64,
        }  # fmt: skip
        line = (json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n").encode()
        os.write(fd, line)
        os.fsync(fd)
        head = {"entries": len(lines) + 1, "last_sha256": hashlib.sha256(line).hexdigest()}
        _atomic_write(f"{path}.head", (json.dumps(head, sort_keys=True) + "\n").encode())
    finally:
        os.close(fd)


def run(module, now):
    params = module.params
    manifest, digest = None, None
    try:
        with open(params["pubkey"]) as handle:
            manifest, digest = signed_manifest(params["path"], handle.read())
        check_files(params["path"], manifest)
        check_expiry(manifest, now)
        last = None
        if params["record"] and not module.check_mode:
            last = accept(params["state_dir"], manifest, digest, params["allow_downgrade"], now)
    except Rejected as rejection:
        if params["record"] and not module.check_mode:
            append_ledger(params["ledger"], params["path"], manifest, digest, "rejected", rejection.message,
                          CODES[rejection.kind], now)  # fmt: skip
        module.fail_json(msg="bundle rejected: " + rejection.message, rejected=rejection.kind,
                         exit_code=CODES[rejection.kind])  # fmt: skip
    if params["record"] and not module.check_mode:
        append_ledger(params["ledger"], params["path"], manifest, digest, "accepted", "all checks passed", 0, now)
    module.exit_json(changed=bool(params["record"]), name=manifest["name"], version=manifest["version"],
                     sequence=manifest["sequence"], manifest_sha256=digest, key_id=manifest["key_id"],
                     previous_sequence=last if params["record"] else None)  # fmt: skip


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "pubkey": {"type": "path", "required": True},
            "state_dir": {"type": "path", "default": "/var/lib/airgap"},
            "ledger": {"type": "path", "default": "/var/lib/airgap/ledger.jsonl"},
            "allow_downgrade": {"type": "bool", "default": False},
            "record": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    run(module, dt.datetime.now(dt.UTC))


if __name__ == "__main__":
    main()
