"""The rules on operations and tags a JSON Schema cannot express (openapi-spec-validator checks them too)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from airgapctl.specs.model import LoadedSpec, SpecIssue
from airgapctl.specs.refs import join

_TEMPLATE_PARAMETER = re.compile(r"\{([^{}/]+)\}")


def operation_issues(spec: LoadedSpec) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    first_with_id: dict[str, Any] = {}
    for op in spec.operations:
        if op.operation_id is not None:
            first = first_with_id.setdefault(op.operation_id, op)
            if first is not op:
                message = f"operationId '{op.operation_id}' is already used by {first.method} {first.path}"
                fix = "give each operation its own operationId"
                issues.append(SpecIssue(op.file, join(op.pointer, "operationId"), message, "duplicate", fix))
        in_template = set(_TEMPLATE_PARAMETER.findall(op.path))
        declared = {p.name for p in op.parameters if p.location == "path"}
        for name in sorted(in_template - declared):
            message = f"path parameter '{name}' of {op.method} {op.path} is not declared"
            fix = (f"add {{name: {name}, in: path, required: true, schema: {{type: string}}}} to the operation's"
                   " or the path item's parameters")  # fmt: skip
            issues.append(SpecIssue(op.file, op.pointer, message, "path-parameter", fix))
        for name in sorted(declared - in_template):
            message = f"path parameter '{name}' is declared but {op.path} has no {{{name}}}"
            fix = f"put {{{name}}} in the path, or declare '{name}' in query or header instead"
            issues.append(SpecIssue(op.file, op.pointer, message, "path-parameter", fix))
        if op.sunset is not None and not _is_iso_date(op.sunset):
            message = f"x-sunset must be an ISO date such as 2030-01-31, not {op.sunset!r}"
            issues.append(SpecIssue(op.file, join(op.pointer, "x-sunset"), message, "extension"))
    return issues


def tag_issues(display: str, tags: Any) -> list[SpecIssue]:
    names: set[str] = set()
    issues = []
    for index, tag in enumerate(tags if isinstance(tags, list) else ()):
        name = tag.get("name") if isinstance(tag, dict) else None
        if isinstance(name, str) and name in names:
            fix = "describe each tag once"
            issues.append(
                SpecIssue(display, join("/tags", index, "name"), f"duplicate tag name '{name}'", "duplicate", fix)
            )
        names.add(name)
    return issues


def _is_iso_date(text: str) -> bool:
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            parse(text)
        except ValueError:
            continue
        return True
    return False
