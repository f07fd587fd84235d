"""Role grants: which operations an access.yml selector names (by operationId, tag or method+path glob)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any


@cache
def glob_regex(glob: str) -> re.Pattern[str]:
    """``*`` stays within a segment; a ``/**`` segment is zero or more segments, as in Spring's
    AntPathMatcher (``/pets/**`` matches ``/pets``, ``/pets/1`` and ``/pets/1/x``, not ``/petsx``);
    ``**`` inside a segment crosses segments; everything else is literal.
    """
    segments = glob.split("/")
    body = segments[0] and _segment_regex(segments[0])
    for segment in segments[1:]:
        body += "(?:/.*)?" if segment == "**" else "/" + _segment_regex(segment)
    return re.compile(f"^{body}$")


def _segment_regex(segment: str) -> str:
    parts = re.split(r"(\*\*|\*)", segment)
    return "".join(".*" if p == "**" else "[^/]*" if p == "*" else re.escape(p) for p in parts)


def selector_matches(selector: dict[str, Any], entry: dict[str, Any]) -> bool:
    if "api" in selector and selector["api"] != entry["api"]:
        return False
    if "operation" in selector:
        return selector["operation"] == entry["operation_id"]
    if "tag" in selector:
        return selector["tag"] in entry["tags"]
    method = selector.get("method", "*")
    if method != "*" and method != entry["method"]:
        return False
    return bool(glob_regex(selector["path"]).match(entry["path_template"]))


def describe_selector(selector: dict[str, Any]) -> str:
    scope = f"api {selector['api']} " if "api" in selector else ""
    if "operation" in selector:
        return f"{scope}operation {selector['operation']}"
    if "tag" in selector:
        return f"{scope}tag {selector['tag']}"
    return f"{scope}{selector.get('method', '*')} {selector['path']}"
