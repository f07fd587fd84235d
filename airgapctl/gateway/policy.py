"""Load a compiled policy and check it against policy.schema.json before anything is rendered."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from airgapctl.errors import BadInputError
from airgapctl.schemas import check_document

PolicySource = str | Path | dict[str, Any]


def load_policy(source: PolicySource) -> tuple[dict[str, Any], str]:
    """Return the validated policy and a label naming where it came from (for error messages)."""
    if isinstance(source, dict):
        policy, label = source, "<policy>"
    else:
        label = str(source)
        policy = parse_policy(read_policy(Path(source)), Path(source))
    check_policy(policy, label)
    return policy, label


def check_policy(policy: dict[str, Any], label: str) -> None:
    """Raise BadInputError, one line naming ``label`` and the place, unless ``policy`` is a valid policy."""
    try:
        check_document(policy, "policy", label)
    except BadInputError as error:
        # One line, whatever text the offending value holds.
        raise BadInputError(" ".join(error.message.split()), hint=error.hint) from None
    _check_dates(policy, label)


def read_policy(path: Path) -> bytes:
    """The policy file's bytes (what a check of it is known by)."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise BadInputError(f"{path}: cannot read the policy: {error.strerror or error}") from error


def parse_policy(data: bytes, path: Path) -> dict[str, Any]:
    """The JSON document in ``data`` (UTF-8), or BadInputError naming ``path``."""
    try:
        text = data.decode("utf-8")
        # Line ends as a text read gives them, so that an error's line number is the one an editor shows.
        return json.loads(text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        detail = f"{error.msg} at line {error.lineno} column {error.colno}" if hasattr(error, "lineno") else str(error)
        raise BadInputError(
            f"{path}: not valid JSON: {detail}", hint="policy.json is written by 'airgapctl specs compile'"
        ) from error


def _check_dates(policy: dict[str, Any], label: str) -> None:
    """The schema says format: date, which JSON Schema does not enforce by default."""
    for index, operation in enumerate(policy["operations"]):
        sunset = operation["sunset"]
        if sunset is None:
            continue
        try:
            date.fromisoformat(sunset)
        except ValueError:
            raise BadInputError(f"{label}: /operations/{index}/sunset: {sunset!r} is not a date (YYYY-MM-DD)") from None
