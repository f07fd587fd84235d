#!/usr/bin/python
"""Verify an offline bundle on the appliance with the pinned key, before anything in it is used.

The rules, their order, the messages and what the ledger records are airgapctl's trust core,
shipped with this role as ``module_utils/airgap_trust/`` (a byte-identical copy of
``airgapctl/bundle/trust/``): the appliance has no airgapctl yet when it checks its first
bundle, and no cryptography package, so signatures are checked by the plain-Python Ed25519
verifier in ``module_utils/airgap_ed25519.py``.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: airgap_bundle_verify
short_description: Verify an airgapctl bundle with the pinned public key and record the attempt
description:
  - Checks the manifest's signature with the pinned Ed25519 key before anything the manifest says is used,
    then its format, every file (missing, extra, altered, links and special files), the expiry and,
    when O(record=true), the sequence against the last accepted one.
  - Appends every attempt, accepted or refused, to the hash-chained import ledger, and records the bundle
    as accepted in O(state_dir)/accepted.json only when every check passed.
  - Uses exactly the rules, messages and exit codes of C(airgapctl bundle verify), so the ledger it writes
    can be checked with C(airgapctl bundle ledger verify).
  - Needs only the Python standard library on the managed host.
version_added: "1.0.0"
options:
  path:
    description: Bundle directory on the managed host (holding manifest.json and manifest.json.sig).
    type: path
    required: true
  pubkey:
    description: The site's pinned Ed25519 public key (PEM, SubjectPublicKeyInfo) on the managed host.
    type: path
    required: true
  state_dir:
    description: Directory of accepted.json, the last accepted sequence per bundle name.
    type: path
    default: /var/lib/airgap
  ledger:
    description: The import ledger (JSON lines, hash-chained); its head file is O(ledger).head.
    type: path
    default: /var/lib/airgap/ledger.jsonl
  allow_downgrade:
    description: Accept a sequence not above the last accepted one (a deliberate replay or rollback).
    type: bool
    default: false
  name:
    description:
      - The bundle name this host takes; a bundle of another name is refused (exit code 23) before
        anything is recorded as accepted. Unset takes any name.
    type: str
  record:
    description:
      - True for an import attempt (sequence checked and recorded, attempt appended to the ledger).
      - False re-checks an installed bundle's signature and files and records nothing.
    type: bool
    default: true
notes:
  - In check mode every check runs, the sequence included, and nothing is recorded.
attributes:
  check_mode:
    support: full
author: airgapctl developers
"""

EXAMPLES = r"""
- name: Verify the bundle with the pinned key and record the attempt
  airgap_bundle_verify:
    path: /srv/airgap/incoming/lab-gateway
    pubkey: /etc/airgap/bundle.pub
  register: verified

- name: Re-check an installed bundle's files without recording anything
  airgap_bundle_verify:
    path: /srv/airgap/bundles/lab-gateway/3
    pubkey: /etc/airgap/bundle.pub
    record: false

- name: Accept an older sequence on purpose (recorded as a deliberate rollback)
  airgap_bundle_verify:
    path: /srv/airgap/incoming/lab-gateway
    pubkey: /etc/airgap/bundle.pub
    allow_downgrade: true
"""

RETURN = r"""
name:
  description: The bundle's name, from the verified manifest.
  returned: success
  type: str
  sample: lab-gateway
version:
  description: The bundle's version label.
  returned: success
  type: str
  sample: 0.1.0
sequence:
  description: The bundle's sequence number.
  returned: success
  type: int
  sample: 3
manifest_sha256:
  description: SHA-256 of the verified manifest's bytes.
  returned: success
  type: str
key_id:
  description: SHA-256 of the raw public key that signed the manifest.
  returned: success
  type: str
files:
  description: How many files the manifest lists (all present and unaltered).
  returned: success
  type: int
previous_sequence:
  description: The last accepted sequence before this one (null for the first of its name, or with O(record=false)).
  returned: success
  type: int
downgrade:
  description: True when the bundle was accepted as a deliberate replay or rollback.
  returned: success
  type: bool
warnings_list:
  description: Notes about the acceptance (a deliberate downgrade, or an unchecked sequence).
  returned: success
  type: list
  elements: str
rejected:
  description: The rejection class (signature, missing, extra, altered, rollback, expired, unsafe, invalid, name, ...).
  returned: failure
  type: str
  sample: altered
exit_code:
  description: The exit code C(airgapctl bundle verify) gives for the same rejection.
  returned: failure
  type: int
  sample: 13
"""

import datetime as dt

from ansible.module_utils.airgap_ed25519 import verify as ed25519_verify
from ansible.module_utils.airgap_trust import CLASS_NAMES, FAILED, TrustError, verify
from ansible.module_utils.basic import AnsibleModule


def run(module, now):
    params = module.params
    recording = params["record"] and not module.check_mode
    try:
        verdict = verify(
            params["path"],
            params["pubkey"],
            ed25519_verify,
            now,
            state_dir=params["state_dir"] if params["record"] else None,
            ledger=params["ledger"] if params["record"] else None,
            allow_downgrade=params["allow_downgrade"],
            commit=recording,
            expected_name=params["name"],
        )
    except TrustError as error:
        module.fail_json(msg="bundle rejected: " + error.message, rejected=CLASS_NAMES.get(error.code, "failed"),
                         exit_code=error.code, hint=error.hint)  # fmt: skip
    except Exception as error:  # recorded as an internal error by the trust core; still a refusal
        module.fail_json(msg=f"bundle rejected: internal error: {error!r}", rejected="failed", exit_code=FAILED)
    manifest = verdict.manifest
    module.exit_json(
        changed=recording,
        name=manifest["name"],
        version=manifest["version"],
        sequence=manifest["sequence"],
        manifest_sha256=verdict.manifest_sha256,
        key_id=manifest["key_id"],
        files=len(manifest["files"]),
        previous_sequence=verdict.previous_sequence,
        downgrade=verdict.downgrade,
        warnings_list=list(verdict.warnings),
    )


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "pubkey": {"type": "path", "required": True},
            "state_dir": {"type": "path", "default": "/var/lib/airgap"},
            "ledger": {"type": "path", "default": "/var/lib/airgap/ledger.jsonl"},
            "allow_downgrade": {"type": "bool", "default": False},
            "record": {"type": "bool", "default": True},
            "name": {"type": "str"},
        },
        supports_check_mode=True,
    )
    run(module, dt.datetime.now(dt.UTC))


if __name__ == "__main__":
    main()
