"""The current policy, checked once: a daily run does not validate the same file again and again.

A policy is checked against policy.schema.json (and its dates) when it is read. With --state, a run
that found it valid keeps there the SHA-256 of the file's bytes and what it was checked with (the
schema's SHA-256 and airgapctl's version). A later run given the very same bytes, checked with the
same, reads the file without checking it again. A file that differs by one byte, another schema or
another version is checked in full, and refused when invalid. Only a run that writes its state
(not --full, not --no-learn) keeps the record.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import airgapctl
from airgapctl.gateway.policy import check_policy, parse_policy, read_policy
from airgapctl.schemas import schema_digest
from log_analysis.baseline.store import write_state_file

POLICY_CHECK_FILE = "policy-check.json"


@dataclass(frozen=True)
class PolicyCheck:
    """A policy file found valid: its bytes' SHA-256, and the schema and version that found it so."""

    policy_sha256: str
    checked_with: str


def read_audit_policy(path: Path, state_dir: Path | None) -> tuple[dict[str, Any], PolicyCheck]:
    """The policy in ``path``, checked unless ``state_dir`` records these very bytes as valid."""
    data = read_policy(path)
    check = PolicyCheck(hashlib.sha256(data).hexdigest(), _checked_with())
    policy = parse_policy(data, path)
    if known_check(state_dir) != check:
        check_policy(policy, str(path))
    return policy, check


def remember_check(state_dir: Path, check: PolicyCheck) -> None:
    """Keep ``check`` in the state directory (unless it is kept already)."""
    if known_check(state_dir) != check:
        write_state_file(
            state_dir / POLICY_CHECK_FILE, {"policy_sha256": check.policy_sha256, "checked_with": check.checked_with}
        )


def known_check(state_dir: Path | None) -> PolicyCheck | None:
    """The check kept in the state directory; None when there is none or it cannot be read (then the
    policy is checked again, and a run that keeps its state writes the record anew)."""
    if state_dir is None:
        return None
    try:
        kept = json.loads((state_dir / POLICY_CHECK_FILE).read_bytes())
        return PolicyCheck(str(kept["policy_sha256"]), str(kept["checked_with"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _checked_with() -> str:
    return f"airgapctl {airgapctl.__version__}, policy schema {schema_digest('policy')}"
