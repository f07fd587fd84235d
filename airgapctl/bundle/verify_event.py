"""The event every ``bundle verify`` emits: accepted or rejected, with its exit code, the bundle's name
and sequence. Names, numbers and counts only: no file content, key material or error text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airgapctl.bundle.verify import VerifyResult
from airgapctl.errors import AirgapError, ExitCode

TAG = "bundle.verify"


def accepted_fields(result: VerifyResult, check_only: bool) -> dict[str, Any]:
    return {
        "outcome": "accepted",
        "exit_code": int(ExitCode.OK),
        "reason": ExitCode.OK.name,
        "name": result.name,
        "version": result.version,
        "sequence": result.sequence,
        "signed_name": True,  # name and sequence come from the verified manifest
        "previous_sequence": result.previous_sequence,
        "downgrade": result.downgrade,
        "check_only": check_only,
        "files": result.files,
        "bytes": result.total_bytes,
        "key_id": result.key_id,
    }


def rejected_fields(directory: Path, error: AirgapError, check_only: bool) -> dict[str, Any]:
    """The name and sequence the manifest claims, when it can be read at all: a rejected bundle's are unproven."""
    from airgapctl.bundle.summary import inspect_bundle

    try:
        claimed = inspect_bundle(directory)
        name, version, sequence = claimed.name, claimed.version, claimed.sequence
    except Exception:  # an unreadable manifest is one more reason it was rejected
        name = version = sequence = None
    return {
        "outcome": "rejected",
        "exit_code": int(error.exit_code),
        "reason": ExitCode(error.exit_code).name,
        "name": name,
        "version": version,
        "sequence": sequence,
        "signed_name": False,
        "check_only": check_only,
    }
