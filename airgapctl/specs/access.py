"""The site access policy (access.yml): loaded, checked against its schema, with defaults applied."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from airgapctl.errors import BadInputError
from airgapctl.schemas import check_document

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_DEPRECATED = "warn"
# Requests are checked against their operation's spec and refused when they break it; "report"
# serves them and logs the violation, "off" checks nothing beyond method, path and body size.
DEFAULT_VALIDATION = "enforce"
VALIDATION_MODES = ("enforce", "report", "off")
# Query parameters the spec does not declare: passed on unless an API says "refuse".
DEFAULT_UNKNOWN_QUERY = "allow"


@dataclass(frozen=True)
class AccessPolicy:
    path: Path
    document: dict[str, Any]  # schema-valid, with defaults filled in

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def spec_path(self, api: dict[str, Any]) -> Path:
        return (self.base_dir / api["spec"]).resolve()


def load_access(path: str | Path) -> AccessPolicy:
    """Read access.yml; any problem is a one-line BadInputError naming the file and the field."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise BadInputError(f"{path}: cannot read: {error.strerror}", hint="pass the site's access.yml") from None
    try:
        document = yaml.load(text, Loader=YAML_LOADER)  # noqa: S506 - CSafeLoader or SafeLoader only
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise BadInputError(f"{path}: {where}: not valid YAML: {getattr(error, 'problem', error)}") from None
    check_document(document, "access", str(path))
    return AccessPolicy(path, _with_defaults(document))


def _with_defaults(document: dict[str, Any]) -> dict[str, Any]:
    defaults = {
        "max_body_bytes": DEFAULT_MAX_BODY_BYTES,
        "deprecated": DEFAULT_DEPRECATED,
        "validation": DEFAULT_VALIDATION,
        "unknown_query": DEFAULT_UNKNOWN_QUERY,
    }
    defaults.update(document.get("defaults", {}))
    filled = {**document, "defaults": defaults, "operations": document.get("operations", [])}
    for api in filled["apis"]:
        api.setdefault("base_path", "")
        api["upstream"] = {"tls_verify": True, **api["upstream"]}
    for route in filled.get("sync", {}).get("routes", []):
        route.setdefault("roles", [])
    return filled
