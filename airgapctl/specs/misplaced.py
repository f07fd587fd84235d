"""A ``$ref`` where the standard allows none: said once, and the rest checked as if written in place.

Many multi-file specs put a ``$ref`` on an Operation Object or in place of the whole ``paths``
map; tools that resolve every ``$ref`` accept them, the standard does not. Checked as written,
each would fail the meta-schema with a cascade (``'$ref' does not match any of the regexes``,
``'responses' is a required property``) for every operation. Instead the meta-schema sees the
object the ``$ref`` leads to in its place; that object is checked where it is written (a
fragment), and the ``$ref`` itself is one issue saying what to change.
"""

from __future__ import annotations

from typing import Any

from airgapctl.specs.explain import ref_not_allowed
from airgapctl.specs.grammar import MisplacedRef
from airgapctl.specs.model import SpecIssue
from airgapctl.specs.refs import SourceFile

# What to write instead of the $ref, by what it stands for.
_FIXES = {
    "an Operation Object": "write the operation in place, or $ref the whole path item instead ('/path': {$ref: ...})",
    "a Media Type Object": "write the media type in place; its schema may be a $ref",
    "an Encoding Object": "write the encoding in place",
    "the Components Object": "write components in place; each schema, parameter, response, ... may be a $ref",
}
_MAP_FIX = "list the entries in place; each entry may be a $ref"


def misplaced_issue(ref: MisplacedRef, family: str) -> SpecIssue:
    fix = _FIXES.get(ref.what, _MAP_FIX if ref.what.startswith("the '") else None)
    return ref_not_allowed(ref.source.display, ref.pointer, family, ref.what, fix)


def in_place(node: Any, source: SourceFile, pointer: str, refs: list[MisplacedRef]) -> Any:
    """``node`` (written at ``pointer`` in ``source``) with each misplaced $ref under it replaced by its
    target; the node itself when there is none. Only the containers on the way are copied."""
    replacements: dict[tuple[str, ...], Any] = {}
    for ref in refs:
        if ref.source is source and ref.target is not None and _under(ref.pointer, pointer):
            tokens = tuple(_unescape(t) for t in ref.pointer[len(pointer) :].split("/")[1:])
            replacements[tokens] = ref.target.node
    return _replaced(node, replacements) if replacements else node


def outside(issue: SpecIssue, refs: list[MisplacedRef]) -> bool:
    """Whether an issue is about what is written, not about what a misplaced $ref put in its place."""
    return not any(ref.target is not None and ref.source.display == issue.file and _under(issue.pointer, ref.pointer)
                   for ref in refs)  # fmt: skip


def _under(pointer: str, base: str) -> bool:
    return pointer == base or pointer.startswith(base + "/")


def _replaced(node: Any, replacements: dict[tuple[str, ...], Any]) -> Any:
    if () in replacements:
        return replacements[()]
    children: dict[str, dict[tuple[str, ...], Any]] = {}
    for tokens, target in replacements.items():
        children.setdefault(tokens[0], {})[tokens[1:]] = target
    if isinstance(node, dict):
        copy: Any = dict(node)
        for token, below in children.items():
            if token in copy:
                copy[token] = _replaced(copy[token], below)
    elif isinstance(node, list):
        copy = list(node)
        for token, below in children.items():
            if token.isdigit() and int(token) < len(copy):
                copy[int(token)] = _replaced(copy[int(token)], below)
    else:
        return node
    return copy


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")
