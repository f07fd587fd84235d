"""The two contracts the gateway tests hold documents to: policy.json and the access log."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

import airgapctl.schemas

# The installed package's schemas: the bypass suite also runs where airgapctl is installed, not checked out.
SCHEMAS = Path(airgapctl.schemas.__file__).parent


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_valid_policy(document: dict[str, Any]) -> None:
    _validator("policy").validate(document)


def assert_valid_log_line(line: dict[str, Any]) -> None:
    _validator("access_log").validate(line)
