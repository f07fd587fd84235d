"""Verdicts remembered by spec tree, so that a warm run reads and hashes the files and nothing more.

An entry is found by the root file's bytes alone (with the validator's versions), and lists
every other file the spec was read from with its SHA-256: when each still hashes the same,
the spec is the same (which files a spec reads depends only on what the files say), and the
entry gives back the verdict, the issues and the loaded operations without parsing anything.
Paths are kept relative to the root's directory, so a moved or copied spec tree still hits,
and shown as the user names the root now.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from airgapctl.specs.cache import VerdictCache
from airgapctl.specs.model import LoadedSpec, Operation, Parameter, SpecIssue
from airgapctl.specs.refs import SpecFiles


@dataclass(frozen=True)
class Verdict:
    spec: LoadedSpec | None  # None when the spec is invalid
    issues: list[SpecIssue]


def root_key(root_bytes: bytes, version: str) -> str:
    return hashlib.sha256(version.encode() + b"\0" + root_bytes).hexdigest()


def recall(cache: VerdictCache, display: str, root_bytes: bytes, version: str) -> Verdict | None:
    """The remembered verdict for this root and the files it read, when none of them changed."""
    root_dir = os.path.dirname(os.path.abspath(display))
    for entry in cache.entries(root_key(root_bytes, version)):
        files = entry.get("files")
        if not isinstance(files, list) or not files or not all(_is_file_record(f) for f in files):
            continue
        digests = [hashlib.sha256(root_bytes).hexdigest()]
        for record in files[1:]:
            digest = _digest(os.path.join(root_dir, record["path"]))
            if digest != record["sha256"]:
                break
            digests.append(digest)
        else:
            try:
                return _restore(entry, display, root_dir, digests)
            except (KeyError, TypeError, ValueError, IndexError):
                continue  # an entry from a different shape: a miss
    return None


def remember(
    cache: VerdictCache, files: SpecFiles, version: str, spec: LoadedSpec | None, issues: list[SpecIssue]
) -> None:
    root = files.root
    refs = {f.display: _file_ref(f.display, f.path, root) for f in files.files.values()}
    with open(root.path, "rb") as handle:  # keyed by the bytes the verdict is about
        root_bytes = handle.read()
    if hashlib.sha256(root_bytes).hexdigest() != root.digest:
        return  # the root changed while it was checked: nothing worth remembering
    entry = {
        "files": [{"path": refs[f.display], "sha256": f.digest} for f in files.files.values()],
        "valid": spec is not None,
        "issues": [_issue_record(issue, refs) for issue in issues],
        "spec": None if spec is None else _spec_record(spec, refs),
    }
    tree = hashlib.sha256(f"{version}\0{files.digest}".encode()).hexdigest()
    cache.write(root_key(root_bytes, version), tree, entry)


def _file_ref(display: str, path: str, root: Any) -> str:
    """How an entry names a file: relative to the root's directory; absolute when the user wrote it so."""
    if os.path.isabs(display) and not os.path.isabs(root.display):
        return path
    return os.path.relpath(path, os.path.dirname(root.path))


def _display(ref: str, root_display: str, first: bool) -> str:
    if first:
        return root_display
    return ref if os.path.isabs(ref) else os.path.normpath(os.path.join(os.path.dirname(root_display), ref))


def _digest(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def _is_file_record(record: Any) -> bool:
    return isinstance(record, dict) and isinstance(record.get("path"), str) and isinstance(record.get("sha256"), str)


def _restore(entry: dict[str, Any], display: str, root_dir: str, digests: list[str]) -> Verdict:
    refs = [record["path"] for record in entry["files"]]
    names = {ref: _display(ref, display, index == 0) for index, ref in enumerate(refs)}
    issues = [_issue(record, names) for record in entry["issues"]]
    stored = entry["spec"]
    if stored is None:
        return Verdict(None, issues)
    # The digest over the files as they are named now (LoadedSpec.sha256), from the hashes just taken.
    relpaths = [os.path.relpath(os.path.abspath(display), root_dir)]
    relpaths += [os.path.relpath(os.path.join(root_dir, ref), root_dir) for ref in refs[1:]]
    lines = sorted(f"{relpath}\0{digest}\n" for relpath, digest in zip(relpaths, digests, strict=True))
    spec = LoadedSpec(
        path=display,
        sha256=hashlib.sha256("".join(lines).encode()).hexdigest(),
        files=tuple(names[ref] for ref in refs),
        openapi_version=str(stored["openapi_version"]),
        title=str(stored["title"]),
        operations=tuple(_operation(record, names) for record in stored["operations"]),
        has_paths=bool(stored["has_paths"]),
        warnings=tuple(_issue(record, names) for record in stored["warnings"]),
    )
    return Verdict(spec, issues)


def _issue_record(issue: SpecIssue, refs: dict[str, str]) -> dict[str, Any]:
    return {"file": refs.get(issue.file, issue.file), "pointer": issue.pointer, "message": issue.message,
            "kind": issue.kind, "fix": issue.fix, "position": list(issue.position)}  # fmt: skip


def _issue(record: dict[str, Any], names: dict[str, str]) -> SpecIssue:
    fix = record["fix"]
    return SpecIssue(
        names.get(record["file"], record["file"]),
        str(record["pointer"]),
        str(record["message"]),
        kind=str(record["kind"]),
        fix=None if fix is None else str(fix),
        position=tuple(int(i) for i in record["position"]),
    )


def _spec_record(spec: LoadedSpec, refs: dict[str, str]) -> dict[str, Any]:
    return {
        "openapi_version": spec.openapi_version,
        "title": spec.title,
        "has_paths": spec.has_paths,
        "warnings": [_issue_record(warning, refs) for warning in spec.warnings],
        "operations": [
            {
                "method": op.method,
                "path": op.path,
                "operation_id": op.operation_id,
                "tags": list(op.tags),
                "deprecated": op.deprecated,
                "sunset": op.sunset,
                "body_required": op.body_required,
                "content_types": list(op.content_types),
                "file": refs.get(op.file, op.file),
                "pointer": op.pointer,
                "parameters": [[p.name, p.location, p.required, p.schema, p.style, p.explode] for p in op.parameters],
                "body_schema": op.body_schema,
                "body_schema_media_type": op.body_schema_media_type,
            }
            for op in spec.operations
        ],
    }


def _operation(record: dict[str, Any], names: dict[str, str]) -> Operation:
    return Operation(
        method=record["method"],
        path=record["path"],
        operation_id=record["operation_id"],
        tags=tuple(record["tags"]),
        deprecated=record["deprecated"],
        sunset=record["sunset"],
        parameters=tuple(Parameter(*parameter) for parameter in record["parameters"]),
        body_required=record["body_required"],
        content_types=tuple(record["content_types"]),
        file=names.get(record["file"], record["file"]),
        pointer=record["pointer"],
        body_schema=record["body_schema"],
        body_schema_media_type=record["body_schema_media_type"],
    )
