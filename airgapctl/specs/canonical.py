"""The canonical-path rule: which raw request targets the gateway refuses (400 non_canonical_path).

One definition, rendered into the gateway's NGINX map (gateway/maps.conf) and applied by the
reference router, the self-test and the compiler's warnings about declared paths. A canonical
path is plain pchar text with no dot segments, empty segments, ';' parameters or backslashes,
and no percent-encoded '/', '\\', unreserved or control characters: it decodes to exactly what
is matched and what is passed upstream, so refusing the rest means nothing is ever normalised.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

REASON = "non_canonical_path"


@dataclass(frozen=True)
class Refusal:
    """One kind of refused target: a pattern NGINX's PCRE and Python's re read alike."""

    why: str
    # Searched in the raw target ($request_uri: path and query); '^[^?]*?' keeps it to the path.
    pattern: str
    # A path suffix the rule refuses: the self-test sends it under every API's base path.
    example: str


# In order: the first rule that matches refuses the target.
REFUSALS = (
    Refusal("empty or dot segment", r"^[^?]*?(?://|/\.\.?(?:/|\?|$))", "//selftest"),
    Refusal(
        "percent-encoded '/', '\\', unreserved or control character",
        r"^[^?]*?%(?:[01][0-9A-Fa-f]|2[D-Fd-f]|3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa]|5[CFcf]|7[EFef])",
        "/%2e%2e/selftest",
    ),
    Refusal("'%' not followed by two hex digits", r"^[^?]*?%(?![0-9A-Fa-f]{2})", "/selftest%zz"),
)
# Past the refusals, a target must be plain path text (optionally a query) to be canonical.
PLAIN_CHARACTERS = "A-Za-z0-9._~!$&'()*+,=:@%/-"
PLAIN = rf"^/[{PLAIN_CHARACTERS}]*(?:\?.*)?$"
PLAIN_EXAMPLE = "/selftest;x=1"

# The whole rule as one Python regex: ``NON_CANONICAL.search(target)`` is the map's decision.
NON_CANONICAL = re.compile("|".join(f"(?:{r.pattern})" for r in REFUSALS) + rf"|\A(?!{PLAIN})")
_REFUSALS = tuple((re.compile(r.pattern), r.why) for r in REFUSALS)
_PLAIN = re.compile(PLAIN)
_NOT_PLAIN = re.compile(rf"[^{PLAIN_CHARACTERS}]")
# What percent_encode leaves as it is: the plain characters but '%' itself.
_SAFE = "!$&'()*+,=:@/~"


def refusal(target: str) -> str | None:
    """Why the gateway refuses this raw target as non-canonical, or None when it is canonical."""
    for regex, why in _REFUSALS:
        if regex.search(target):
            return why
    if _PLAIN.match(target):
        return None
    path = target.split("?", 1)[0]
    if not path.startswith("/"):
        return "does not start with '/'"
    character = _NOT_PLAIN.search(path)
    return f"{character.group(0)!r} is not plain path text" if character else "not plain path text"


def is_canonical(target: str) -> bool:
    return NON_CANONICAL.search(target) is None


def percent_encode(path: str) -> str:
    """The raw form a client sends for a path as declared: everything but plain text percent-encoded."""
    return urllib.parse.quote(path, safe=_SAFE)


def decoded(path: str) -> str:
    """What NGINX matches routes against ($uri) for a canonical raw path: its percent-decoding."""
    return urllib.parse.unquote(path, errors="surrogateescape")


def examples() -> tuple[str, ...]:
    """One refused path suffix per rule, for the self-test."""
    return (*(r.example for r in REFUSALS), PLAIN_EXAMPLE)
