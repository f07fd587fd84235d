"""One policy entry per OpenAPI operation: id, gateway path, regex, parameters, body, deprecation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airgapctl.specs import canonical
from airgapctl.specs.model import LoadedSpec, Operation
from airgapctl.specs.path_regex import param_regex, split_template

_TEMPLATE_PARAM = re.compile(r"\{[^{}/]+\}")
# A segment like <upload_url> or <id>: usually a parameter written in another framework's syntax.
_PLACEHOLDER = re.compile(r"<([^<>/]+)>")
# Header parameters OpenAPI says are ignored: the media-type check, content negotiation and
# credentials have their own rules.
IGNORED_HEADERS = ("accept", "content-type", "authorization")


@dataclass
class BuildContext:
    """What building entries needs besides the operation: where paths are relative to, and notes."""

    base_dir: Path
    warnings: list[str] = field(default_factory=list)
    # Every operation of a file asks for the same path: resolving it is a system call per directory.
    _relative: dict[str, str] = field(default_factory=dict)

    def relative(self, path: str) -> str:
        if path not in self._relative:
            try:
                self._relative[path] = str(Path(path).resolve().relative_to(self.base_dir.resolve()))
            except ValueError:
                self._relative[path] = str(path)
        return self._relative[path]


def generated_operation_id(method: str, template: str) -> str:
    """A stable id for an operation the spec left unnamed: GET /pets/{petId} → get_pets_by_petId."""
    words = [method.lower()]
    for segment in split_template(template):
        words.append(f"by_{segment.param}" if segment.param else segment.literal or "")
    return re.sub(r"[^A-Za-z0-9_]+", "_", "_".join(w for w in words if w)).strip("_")


def build_entry(api: dict[str, Any], spec: LoadedSpec, op: Operation, ctx: BuildContext) -> dict[str, Any]:
    operation_id = op.operation_id or generated_operation_id(op.method, op.path)
    regex, path_params = _path_regex(api["base_path"], op, ctx)
    gateway_path = api["base_path"] + op.path
    segments = split_template(gateway_path)
    warning = declared_path_warning(gateway_path)
    if warning:
        ctx.warnings.append(f"{ctx.relative(op.file)}:{op.pointer}: {op.method} {gateway_path}: {warning}")
    return {
        "id": f"{api['name']}.{operation_id}",
        "api": api["name"],
        "operation_id": operation_id,
        "operation_id_generated": op.operation_id is None,
        "method": op.method,
        "path_template": op.path,
        "gateway_path": gateway_path,
        "regex": regex,
        "literal_segments": sum(1 for s in segments if s.literal is not None),
        "path_params": path_params,
        "query_params": [
            {"name": p.name, "required": p.required, "schema": p.schema, "style": p.style, "explode": p.explode}
            for p in op.parameters
            if p.location == "query"
        ],
        "header_params": [
            {"name": p.name, "required": p.required, "schema": p.schema}
            for p in op.parameters
            if p.location == "header" and p.name.lower() not in IGNORED_HEADERS
        ],
        "body": {
            "allowed": bool(op.content_types),
            "required": op.body_required,
            "content_types": sorted(set(op.content_types)),
            "max_bytes": api["max_body_bytes"],
            "schema": None
            if op.body_schema is None
            else {
                "media_type": op.body_schema_media_type,
                "dialect": schema_dialect(spec.openapi_version),
                "document": op.body_schema,
            },
        },
        "validation": {"mode": api["validation"], "unknown_query": api["unknown_query"]},
        "deprecated": op.deprecated,
        "sunset": op.sunset,
        "deprecation_action": api["deprecated"] if op.deprecated else "allow",
        "roles": [],
        "rate_limit": None,
        "tags": list(op.tags),
        "source": {"file": ctx.relative(op.file), "pointer": op.pointer},
    }


def schema_dialect(openapi_version: str) -> str:
    """JSON Schema 2020-12 for OpenAPI 3.1; 3.0's dialect (nullable ...) for 3.0 and Swagger 2.0."""
    return "3.1" if openapi_version.startswith("3.1") else "3.0"


def declared_path_warning(gateway_path: str) -> str | None:
    """Why requests for this declared path would be refused as non-canonical, and what to do; None if fine."""
    written = _TEMPLATE_PARAM.sub("1", gateway_path)
    why = canonical.refusal(written)
    if why is None:
        return None
    encoded = canonical.percent_encode(written)
    if canonical.is_canonical(encoded):
        advice = f"clients must send it percent-encoded, e.g. {encoded}"
    else:
        advice = "no request can reach it, percent-encoded or not; change the path in the spec"
    placeholder = _PLACEHOLDER.search(gateway_path)
    if placeholder:
        advice += f"; if {placeholder.group(0)} is a parameter, write it {{{placeholder.group(1)}}}"
    return f"the gateway refuses this path as written ({canonical.REASON}: {why}); {advice}"


def _path_regex(base_path: str, op: Operation, ctx: BuildContext) -> tuple[str, list[dict[str, Any]]]:
    schemas = {p.name: p.schema for p in op.parameters if p.location == "path"}
    parts, params = [], []
    for segment in split_template(base_path + op.path):
        if segment.literal is not None:
            parts.append(re.escape(segment.literal))
            continue
        group = f"p{len(params) + 1}"
        value_regex, warning = param_regex(schemas.get(segment.param or "", {}))
        if warning:
            ctx.warnings.append(f"{ctx.relative(op.file)}:{op.pointer}: parameter {segment.param}: {warning}")
        parts.append(f"(?P<{group}>{value_regex})")
        params.append(
            {
                "name": segment.param,
                "group": group,
                "regex": value_regex,
                "schema": schemas.get(segment.param or "", {}),
            }
        )
    return "^/" + "/".join(parts) + "$", params


def priority_key(entry: dict[str, Any]) -> tuple:
    """Match order: segment by segment, a literal before a template (OpenAPI's rule), then method."""
    segments = tuple((1, "") if s.param else (0, s.literal) for s in split_template(entry["gateway_path"]))
    return (segments, entry["method"], entry["id"])
