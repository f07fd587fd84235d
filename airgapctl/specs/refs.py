"""Read the files of one spec and resolve ``$ref`` between them, from local files only.

Everything the loader reads goes through one ``SpecFiles``: it parses each file once, keeps
its digest for LoadedSpec.sha256 and records every reference problem as a SpecIssue
(file and JSON pointer of the ``$ref``) instead of stopping at the first one.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from airgapctl.specs.documents import DocumentError, parse_document
from airgapctl.specs.model import SpecIssue

REMOTE_FIX = "vendor the referenced file next to the spec and point $ref at it"
# Schema keywords whose values are schemas: one (or, for `items`, a list), a list, or a map of names.
SCHEMA_ONE = frozenset(("items", "additionalProperties", "not", "additionalItems", "contains", "if", "then", "else",
                        "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema"))  # fmt: skip
SCHEMA_MANY = frozenset(("allOf", "anyOf", "oneOf", "prefixItems"))
SCHEMA_NAMED = frozenset(("properties", "patternProperties", "$defs", "definitions", "dependentSchemas"))


def escape(token: str) -> str:
    """One JSON pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def join(pointer: str, *tokens: str | int) -> str:
    """``pointer`` extended by ``tokens``, each escaped."""
    for token in tokens:
        text = str(token)
        pointer += "/" + (escape(text) if "~" in text or "/" in text else text)
    return pointer


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def lookup(document: Any, pointer: str) -> tuple[bool, Any]:
    """(found, node) for a JSON pointer; lists take decimal indexes."""
    node = document
    for raw in pointer.split("/")[1:] if pointer else ():
        token = _unescape(raw)
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False, None
    return True, node


def position(document: Any, pointer: str) -> tuple[int, ...]:
    """Where a pointer's target is written, as the index of each token among its siblings: the
    order a reader meets things in the file (a pointer into nothing stops where it leaves it)."""
    node, found = document, []
    for raw in pointer.split("/")[1:] if pointer else ():
        token = _unescape(raw)
        if isinstance(node, dict) and token in node:
            found.append(list(node).index(token))
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            found.append(int(token))
            node = node[int(token)]
        else:
            break
    return tuple(found)


@dataclass
class SourceFile:
    path: str  # absolute, normalised: the identity of the file and the base of its relative refs
    display: str  # as the user would write it: the root as given, the others relative to it
    relpath: str  # relative to the root's directory: stable wherever the spec tree sits
    digest: str  # sha256 of the bytes
    document: Any


@dataclass(frozen=True)
class Target:
    """Where a ``$ref`` leads: the file, the pointer in it and the node found there."""

    source: SourceFile
    pointer: str
    node: Any


@dataclass
class SpecFiles:
    """Every file of one spec, opened on demand, plus the reference problems met so far."""

    root: SourceFile
    files: dict[str, SourceFile] = field(default_factory=dict)  # by path, in reading order
    issues: list[SpecIssue] = field(default_factory=list)
    _resolved: dict[tuple[str, str], Target | str | None] = field(default_factory=dict)
    _unreadable: set[str] = field(default_factory=set)
    _reported: set[SpecIssue] = field(default_factory=set)

    @classmethod
    def open_root(cls, display: str) -> SpecFiles:
        """Read the root file; a file that cannot be parsed raises DocumentError."""
        path = os.path.abspath(display)
        root = _read(path, display, os.path.dirname(path))
        return cls(root=root, files={path: root})

    @property
    def digest(self) -> str:
        """sha256 over every file read: ``relpath NUL sha256 LF`` lines sorted by relpath."""
        lines = sorted(f"{f.relpath}\0{f.digest}\n" for f in self.files.values())
        return hashlib.sha256("".join(lines).encode()).hexdigest()

    def report(self, issue: SpecIssue) -> None:
        if issue not in self._reported:
            self._reported.add(issue)
            self.issues.append(issue)

    def resolve(self, source: SourceFile, ref_pointer: str, ref: Any) -> Target | None:
        """The node a ``$ref`` value names, or None after reporting why it cannot be had."""
        key = (source.path, ref if isinstance(ref, str) else repr(ref))
        if key not in self._resolved:
            self._resolved[key] = self._resolve(source, ref)
        outcome = self._resolved[key]
        if isinstance(outcome, str):  # reported at every place the broken $ref is written
            self.report(SpecIssue(source.display, ref_pointer, outcome, kind="reference"))
            return None
        return outcome

    def follow(self, source: SourceFile, pointer: str, node: Any) -> Target | None:
        """Follow a chain of ``$ref`` objects to the first node that is not one."""
        seen: list[tuple[str, str]] = []
        target = Target(source, pointer, node)
        while isinstance(target.node, dict) and "$ref" in target.node:
            where = (target.source.display, target.pointer)
            if where in seen:
                chain = " -> ".join(f"{file}#{at}" for file, at in [*seen[seen.index(where) :], where])
                self.report(SpecIssue(source.display, pointer, f"circular $ref chain: {chain}", kind="reference"))
                return None
            seen.append(where)
            next_target = self.resolve(target.source, join(target.pointer, "$ref"), target.node["$ref"])
            if next_target is None:
                return None
            target = next_target
        return target

    def _resolve(self, source: SourceFile, ref: Any) -> Target | str | None:
        """A Target, or the message to report at the $ref, or None when the file itself was reported."""
        if not isinstance(ref, str):
            return f"$ref must be a string, not {type(ref).__name__}"
        address, _, fragment = ref.partition("#")
        parts = urlsplit(address)
        if parts.scheme not in ("", "file") or parts.netloc not in ("", "localhost"):
            return f"$ref '{ref}' is remote and airgapctl reads local files only: {REMOTE_FIX}"
        target_file = self._open_referenced(source, parts) if address else source
        if target_file is None or isinstance(target_file, str):
            return None if target_file is None else f"$ref '{ref}': {target_file}"
        pointer = unquote(fragment)
        if pointer and not pointer.startswith("/"):
            return f"$ref '{ref}': only JSON pointer fragments (#/...) are supported"
        found, node = lookup(target_file.document, pointer)
        if not found:
            return f"$ref '{ref}': {target_file.display} has no {pointer or '/'}"
        return Target(target_file, pointer, node)

    def _open_referenced(self, source: SourceFile, parts: Any) -> SourceFile | str | None:
        """The file, or why it is missing, or None when it could not be parsed (reported once)."""
        local = url2pathname(parts.path) if parts.scheme == "file" else unquote(parts.path)
        path = os.path.normpath(os.path.join(os.path.dirname(source.path), local))
        if path in self.files or path in self._unreadable:
            return self.files.get(path)
        # shown as the user would reach it: relative to the referring file as the user named it
        display = os.path.normpath(os.path.join(os.path.dirname(source.display), local))
        if not os.path.isfile(path):
            return f"no such file {display}"
        try:
            opened = _read(path, display, os.path.dirname(self.root.path))
        except DocumentError as error:
            self._unreadable.add(path)
            self.report(error.issue)
            return None
        self.files[path] = opened
        return opened


def _read(path: str, display: str, root_dir: str) -> SourceFile:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise DocumentError(SpecIssue(display, "", f"cannot read: {error.strerror}", kind="document")) from None
    document = parse_document(data, display)
    relpath = os.path.relpath(path, root_dir)
    return SourceFile(path, display, relpath, hashlib.sha256(data).hexdigest(), document)


class SchemaInliner:
    """A parameter's schema with every $ref replaced by its target; a cycle is cut to {}.

    A referenced schema inlined without cutting a cycle is the same wherever it is used, so it
    is inlined once and shared (the deep alias chains of large specs would repeat otherwise).
    """

    def __init__(self, files: SpecFiles, family: str) -> None:
        self.files = files
        self.family = family
        self.cuts = 0
        self.inlined: dict[tuple[str, str], Any] = {}

    def inline(self, source: SourceFile, pointer: str, node: Any, active: frozenset = frozenset()) -> Any:
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return self._inline_ref(source, pointer, node, active)
        inlined: dict[str, Any] = {}
        for key, value in node.items():
            at = join(pointer, key)
            if key in SCHEMA_NAMED and isinstance(value, dict):
                inlined[key] = {name: self.inline(source, join(at, name), sub, active) for name, sub in value.items()}
            elif (key in SCHEMA_MANY or key == "items") and isinstance(value, list):
                inlined[key] = [self.inline(source, join(at, i), sub, active) for i, sub in enumerate(value)]
            elif key in SCHEMA_ONE:
                inlined[key] = self.inline(source, at, value, active)
            else:
                inlined[key] = value  # a literal: type, enum, default, example, ...
        return inlined

    def _inline_ref(self, source: SourceFile, pointer: str, node: dict[str, Any], active: frozenset) -> Any:
        target = self.files.resolve(source, join(pointer, "$ref"), node["$ref"])
        if target is None:
            return {}
        where = (target.source.path, target.pointer)
        if where in active:
            self.cuts += 1
            return {}  # a cycle: the gateway can only accept any value here
        if where in self.inlined:
            resolved = self.inlined[where]
        else:
            cuts_before = self.cuts
            resolved = self.inline(target.source, target.pointer, target.node, active | {where})
            if self.cuts == cuts_before:
                self.inlined[where] = resolved
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        if self.family != "3.1" or not siblings:
            return resolved  # before 3.1, keywords next to $ref are ignored
        return {"allOf": [resolved, self.inline(source, pointer, siblings, active)]}


class SchemaBundler:
    """A body schema as one self-contained document: ``{"schema": ..., "defs": {"d1": ...}}``.

    Every $ref, to this file or another, is rewritten to ``#/defs/dN``, one entry per schema it
    names: a recursive schema stays recursive (the gateway bounds how deep it follows it) rather
    than cut, and a schema used in many places is written once. A $ref that cannot be resolved
    is reported by the walk and bundled as ``#/defs/missing``, which the gateway's compiler
    refuses, so it fails closed. 3.1 keywords beside a $ref apply too (as allOf).
    """

    def __init__(self, files: SpecFiles, family: str) -> None:
        self.files = files
        self.family = family

    def bundle(self, source: SourceFile, pointer: str, node: Any) -> dict[str, Any]:
        names: dict[tuple[str, str], str] = {}
        defs: dict[str, Any] = {}
        pending: list[tuple[str, Target]] = []

        def rewrite(source: SourceFile, pointer: str, node: Any) -> Any:
            if not isinstance(node, dict):
                return node
            if "$ref" in node:
                target = self.files.resolve(source, join(pointer, "$ref"), node["$ref"])
                if target is None:
                    ref = {"$ref": "#/defs/missing"}
                else:
                    where = (target.source.path, target.pointer)
                    if where not in names:
                        names[where] = f"d{len(names) + 1}"
                        pending.append((names[where], target))
                    ref = {"$ref": f"#/defs/{names[where]}"}
                siblings = {key: value for key, value in node.items() if key != "$ref"}
                if self.family != "3.1" or not siblings:
                    return ref
                return {"allOf": [ref, rewrite(source, pointer, siblings)]}
            out: dict[str, Any] = {}
            for key, value in node.items():
                at = join(pointer, key)
                if key in SCHEMA_NAMED and isinstance(value, dict):
                    out[key] = {name: rewrite(source, join(at, name), sub) for name, sub in value.items()}
                elif (key in SCHEMA_MANY or key == "items") and isinstance(value, list):
                    out[key] = [rewrite(source, join(at, i), sub) for i, sub in enumerate(value)]
                elif key in SCHEMA_ONE:
                    out[key] = rewrite(source, at, value)
                else:
                    out[key] = value
            return out

        root = rewrite(source, pointer, node)
        while pending:
            name, target = pending.pop(0)
            defs[name] = rewrite(target.source, target.pointer, target.node)
        return {"schema": root, "defs": defs}
