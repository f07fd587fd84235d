"""Anchored regexes from OpenAPI path templates and their parameters' schemas.

The output is the common subset of PCRE (NGINX), RE2 and Python's ``re``: ``(?P<name>...)``
groups, classes, alternation. No parameter regex can match ``/``, so a parameter never
swallows a segment of another path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SEGMENT_ANY = "[^/]+"
UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
DATE_TIME = DATE + "T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.][0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})"
TEMPLATE_PARAM = re.compile(r"^\{([^{}/]+)\}$")
# Constructs RE2 lacks (lookaround, backreferences, atomic groups, possessive quantifiers).
RE2_UNSAFE = re.compile(r"\(\?(?:=|!|<=|<!|>)|\\[1-9]|\\k<|\\g|[*+?}]\+")


@dataclass(frozen=True)
class Segment:
    literal: str | None  # the text of a literal segment
    param: str | None  # the parameter name of a templated one


def split_template(template: str) -> list[Segment]:
    """``/pets/{petId}`` → [literal pets, param petId]; a mixed segment like ``{a}.json`` is literal-free."""
    segments = []
    for part in template.strip("/").split("/") if template.strip("/") else []:
        match = TEMPLATE_PARAM.match(part)
        segments.append(Segment(None, match.group(1)) if match else Segment(part, None))
    return segments


def _first_type(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):  # OpenAPI 3.1: type: [string, "null"]
        kind = next((k for k in kind if k != "null"), None)
    return kind


def param_regex(schema: dict[str, Any]) -> tuple[str, str | None]:
    """The regex one segment value must match fully, and a warning when the schema is not enforceable."""
    if "enum" in schema:
        values = [str(v).lower() if isinstance(v, bool) else str(v) for v in schema["enum"] if v is not None]
        values = [v for v in values if v and "/" not in v]
        if values:
            return "(?:" + "|".join(re.escape(v) for v in sorted(set(values))) + ")", None
    kind = _first_type(schema)
    if kind == "integer":
        minimum = schema.get("minimum")
        return ("[0-9]+" if minimum is not None and minimum >= 0 else "-?[0-9]+"), None
    if kind == "number":
        return "-?[0-9]+(?:[.][0-9]+)?", None
    if kind == "boolean":
        return "(?:true|false)", None
    fmt = schema.get("format")
    if fmt == "uuid":
        return UUID, None
    if fmt == "date":
        return DATE, None
    if fmt == "date-time":
        return DATE_TIME, None
    if "pattern" in schema:
        return pattern_regex(str(schema["pattern"]))
    return _length_bounded(schema), None


def _length_bounded(schema: dict[str, Any]) -> str:
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is None and high is None:
        return SEGMENT_ANY
    return f"[^/]{{{max(int(low or 1), 1)},{'' if high is None else int(high)}}}"


def pattern_regex(pattern: str) -> tuple[str, str | None]:
    """A schema ``pattern`` made segment-safe, or [^/]+ with a warning when it cannot be."""
    if RE2_UNSAFE.search(pattern):
        return SEGMENT_ANY, f"pattern {pattern!r} uses constructs RE2 lacks; the gateway enforces [^/]+ only"
    anchored_start = pattern.startswith("^")
    anchored_end = pattern.endswith("$") and not pattern.endswith("\\$")
    body = pattern[1 if anchored_start else 0 : len(pattern) - 1 if anchored_end else len(pattern)]
    safe = slash_safe(body)
    if safe is None:
        return SEGMENT_ANY, f"pattern {pattern!r} could match '/'; the gateway enforces [^/]+ only"
    try:
        re.compile(safe)
    except re.error as error:
        return SEGMENT_ANY, f"pattern {pattern!r} is not a valid regex ({error}); the gateway enforces [^/]+ only"
    # JSON Schema patterns match anywhere unless anchored: keep that meaning within the segment.
    return f"{'' if anchored_start else '[^/]*?'}(?:{safe}){'' if anchored_end else '[^/]*'}", None


def slash_safe(body: str) -> str | None:
    """Rewrite a regex so that it cannot match '/'; None when that cannot be done simply."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(body):
        char = body[i]
        if char == "\\":
            escaped = body[i : i + 2]
            if escaped in ("\\/", "\\p", "\\P") or (in_class and escaped in ("\\S", "\\W", "\\D")):
                return None
            out.append({"\\S": "[^\\s/]", "\\W": "[^\\w/]", "\\D": "[^\\d/]"}.get(escaped, escaped))
            i += 2
            continue
        if char == "/":
            return None
        if in_class:
            if char == "]":
                in_class = False
            elif char == "-" and _range_spans_slash(out[-1], body[i + 1 : i + 2]):
                return None  # a range such as !-~ includes the slash
            out.append(char)
        elif char == "[":
            in_class = True
            negated = body[i + 1 : i + 2] == "^"
            out.append("[^/" if negated else "[")
            i += 2 if negated else 1
            continue
        elif char == ".":
            out.append("[^/]")
        elif body.startswith("(?P<", i) or body.startswith("(?<", i):
            end = body.index(">", i)
            out.append("(?:")  # the user's named groups would clash with ours
            i = end + 1
            continue
        else:
            out.append(char)
        i += 1
    return None if in_class else "".join(out)


def _range_spans_slash(before: str, after: str) -> bool:
    """Inside a class, is ``before-after`` a range that includes '/'?"""
    return before not in ("[", "[^/") and after not in ("", "]") and ord(before[-1]) <= ord("/") <= ord(after)
