"""Validate OpenAPI definitions offline and report every problem with its file and JSON pointer.

Why not call openapi-spec-validator directly: it validates one document, resolves references
itself (HTTP handlers included) and takes 10 s on a 2,000-operation spec. We check against the
meta-schemas it ships (metaschema.py: a compiled yes/no check, jsonschema to explain a "no"):
the root document against the whole meta-schema, and each object reached through a $ref into
another file against the definition of its kind. The rules a JSON Schema cannot express
(unique operationIds, path parameters matching the template, ...) are checked on the loaded
operations. Verdicts are cached by the spec's digest, so an unchanged spec costs only a load.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib import metadata
from typing import Any

from airgapctl import __version__
from airgapctl.errors import SpecInvalidError
from airgapctl.specs.cache import VerdictCache
from airgapctl.specs.grammar import DEFINITION_NAMES
from airgapctl.specs.loader import NO_PATHS, TOO_DEEP, SpecSources, invalid_spec_error, read_sources, require_spec_file
from airgapctl.specs.metaschema import meta_schema
from airgapctl.specs.model import LoadedSpec, SpecIssue
from airgapctl.specs.refs import join, lookup

# Bump when the checks here change, so verdicts cached by an older airgapctl are not reused.
CHECKS_REVISION = 1
_MAX_MESSAGE = 200
_TEMPLATE_PARAMETER = re.compile(r"\{([^{}/]+)\}")


def validate_spec(
    path: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None, *, use_cache: bool = True
) -> LoadedSpec:
    """Load and validate a spec; raise one SpecInvalidError carrying every issue found.

    ``cache_dir`` defaults to ``$XDG_CACHE_HOME/airgapctl/specs``; ``use_cache=False`` neither
    reads nor writes verdicts.
    """
    sources = read_sources(path)
    try:
        issues = _verdict(sources, VerdictCache(cache_dir) if use_cache else None)
    except RecursionError:  # the meta-schema checks recurse with the document
        issues = [SpecIssue(sources.spec.path, "", TOO_DEEP)]
    if issues:
        raise invalid_spec_error(os.fspath(path), issues)
    return sources.spec


@dataclass(frozen=True)
class SpecResult:
    """One spec's outcome: the loaded spec when valid, else every issue found."""

    path: str
    spec: LoadedSpec | None
    issues: tuple[SpecIssue, ...] = ()


def validate_specs(
    paths: Sequence[str | os.PathLike[str]],
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    use_cache: bool = True,
) -> list[SpecResult]:
    """Validate several specs, each to the end; a missing file raises BadInputError before any work."""
    for path in paths:
        require_spec_file(path)
    results = []
    for path in paths:
        try:
            results.append(SpecResult(os.fspath(path), validate_spec(path, cache_dir, use_cache=use_cache)))
        except SpecInvalidError as error:
            results.append(SpecResult(os.fspath(path), None, error.issues))
    return results


def summary_error(results: Sequence[SpecResult], hint: str | None = None) -> SpecInvalidError | None:
    """One error for all invalid specs ("2 of 3 specs are invalid (5 problems)"), or None."""
    invalid = [result for result in results if result.issues]
    if not invalid:
        return None
    issues = [issue for result in invalid for issue in result.issues]
    problems = f"{len(issues)} problem{'s' if len(issues) != 1 else ''}"
    if len(results) == 1:
        message = f"spec {results[0].path} is invalid ({problems})"
    else:
        message = f"{len(invalid)} of {len(results)} specs {'is' if len(invalid) == 1 else 'are'} invalid ({problems})"
    return SpecInvalidError(message, issues, hint=hint)


def validator_version() -> str:
    """What a verdict depends on besides the spec: the meta-schemas', jsonschema's and our versions."""
    versions = (metadata.version(name) for name in ("openapi-spec-validator", "jsonschema"))
    ours = f"airgapctl {__version__} checks {CHECKS_REVISION}"
    return "openapi-spec-validator {}, jsonschema {}, {}".format(*versions, ours)


def check_sources(sources: SpecSources) -> list[SpecIssue]:
    """Every problem of a spec as read: meta-schema, references, and the rules beyond the schema."""
    meta = meta_schema(sources.family)
    root = sources.files.root
    issues = [*sources.problems, *(_issue(root.display, "", error) for error in meta.errors(root.document))]
    definitions = DEFINITION_NAMES[sources.family]
    for fragment in sources.fragments:
        if fragment.kind in definitions:
            _, node = lookup(fragment.source.document, fragment.pointer)
            errors = meta.errors(node, definitions[fragment.kind])
            issues += [_issue(fragment.source.display, fragment.pointer, error) for error in errors]
    issues += sources.findings
    issues += _operation_rules(sources.spec)
    issues += _tag_rules(root.display, root.document.get("tags"))
    if any(issue.message == NO_PATHS for issue in sources.problems):  # the same, said more plainly
        issues = [issue for issue in issues if issue.message != "'paths' is a required property"]
    return list(dict.fromkeys(issues))


def _verdict(sources: SpecSources, cache: VerdictCache | None) -> list[SpecIssue]:
    if sources.problems or cache is None:  # a partial read is reported, never remembered
        return check_sources(sources)
    key = _cache_key(sources.spec.sha256)
    names = {f.relpath: f.display for f in sources.files.files.values()}
    cached = cache.read(key)
    if cached is not None:  # issues are stored by path relative to the root, shown as given now
        return [SpecIssue(names.get(i["file"], i["file"]), i["pointer"], i["message"]) for i in cached]
    issues = check_sources(sources)
    relpaths = {display: relpath for relpath, display in names.items()}
    cache.write(
        key, [{"file": relpaths.get(i.file, i.file), "pointer": i.pointer, "message": i.message} for i in issues]
    )
    return issues


def _cache_key(spec_digest: str) -> str:
    return hashlib.sha256(f"{spec_digest}\0{validator_version()}".encode()).hexdigest()


def _issue(display: str, pointer: str, error: Any) -> SpecIssue:
    best = _most_specific(error)
    return SpecIssue(display, join(pointer, *best.absolute_path), _message(best, error))


def _most_specific(error: Any) -> Any:
    """The leaf error that says most about what is wrong, under oneOf/anyOf alternatives.

    Prefer the deepest; among equals, not a mismatch of a discriminating string (``in: path``
    against the query alternative) and not the "or a $ref" alternative.
    """
    leaves = list(_leaves(error))
    if len(leaves) == 1:
        return leaves[0]
    return max(leaves, key=lambda leaf: (len(leaf.absolute_path), not _is_alternative_mismatch(leaf)))


def _leaves(error: Any):
    if not error.context:
        yield error
        return
    for sub in error.context:
        yield from _leaves(sub)


def _is_alternative_mismatch(error: Any) -> bool:
    if error.validator == "required" and error.validator_value == ["$ref"]:
        return True
    return error.validator in ("enum", "const") and isinstance(error.instance, str)


def _message(best: Any, top: Any) -> str:
    if best.validator == "type":
        expected = best.validator_value if isinstance(best.validator_value, list) else [best.validator_value]
        return f"expected {' or '.join(map(str, expected))}, got {_json_type(best.instance)}"
    if best.validator in ("enum", "const"):
        allowed = _allowed_values(best, top)
        return _shorten(f"{_dump(best.instance)} is not allowed here; expected one of {_dump(allowed)}")
    if best.validator == "uniqueItems":
        return "the items must be unique"
    if best.validator in ("oneOf", "anyOf"):
        return f"this {_json_type(best.instance)} matches none of the forms allowed here"
    return _shorten(best.message)


def _allowed_values(best: Any, top: Any) -> list[Any]:
    """Every value some alternative accepts at that place: ``in`` may be path, query, header or cookie."""
    allowed: list[Any] = []
    for leaf in _leaves(top):
        if leaf.absolute_path == best.absolute_path and leaf.validator in ("enum", "const"):
            values = leaf.validator_value if leaf.validator == "enum" else [leaf.validator_value]
            allowed += [value for value in values if value not in allowed]
    return allowed


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _dump(value: Any) -> str:
    return json.dumps(value, default=str)


def _shorten(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"


def _operation_rules(spec: LoadedSpec) -> list[SpecIssue]:
    """The rules on operations the meta-schema cannot express (openapi-spec-validator checks them too)."""
    issues: list[SpecIssue] = []
    first_with_id: dict[str, Any] = {}
    for op in spec.operations:
        if op.operation_id is not None:
            first = first_with_id.setdefault(op.operation_id, op)
            if first is not op:
                message = f"operationId '{op.operation_id}' is already used by {first.method} {first.path}"
                issues.append(SpecIssue(op.file, join(op.pointer, "operationId"), message))
        in_template = set(_TEMPLATE_PARAMETER.findall(op.path))
        declared = {p.name for p in op.parameters if p.location == "path"}
        for name in sorted(in_template - declared):
            message = f"path parameter '{name}' of {op.method} {op.path} is not declared"
            issues.append(SpecIssue(op.file, op.pointer, message))
        for name in sorted(declared - in_template):
            message = f"path parameter '{name}' is declared but {op.path} has no {{{name}}}"
            issues.append(SpecIssue(op.file, op.pointer, message))
        if op.sunset is not None and not _is_iso_date(op.sunset):
            message = f"x-sunset must be an ISO date such as 2030-01-31, not {op.sunset!r}"
            issues.append(SpecIssue(op.file, join(op.pointer, "x-sunset"), message))
    return issues


def _tag_rules(display: str, tags: Any) -> list[SpecIssue]:
    names: set[str] = set()
    issues = []
    for index, tag in enumerate(tags if isinstance(tags, list) else ()):
        name = tag.get("name") if isinstance(tag, dict) else None
        if isinstance(name, str) and name in names:
            issues.append(SpecIssue(display, join("/tags", index, "name"), f"duplicate tag name '{name}'"))
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
