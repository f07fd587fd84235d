"""Validate OpenAPI definitions offline and report every problem with its file and JSON pointer.

Why not call openapi-spec-validator directly: it validates one document, resolves references
itself (HTTP handlers included) and takes 10 s on a 2,000-operation spec. We check against the
meta-schemas it ships (metaschema.py: a compiled yes/no check, jsonschema to explain a "no"):
the root document against the whole meta-schema, and each object reached through a $ref into
another file against the definition of its kind. The rules a JSON Schema cannot express
(unique operationIds, path parameters matching the template, a default of the schema's type,
3.1 Schema Objects in their dialect, ...) are checked on the loaded operations and the Schema
Objects the walk found. Verdicts are remembered by spec tree (verdicts.py), so a warm run of an
unchanged spec only reads and hashes its files.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata

from airgapctl import __version__
from airgapctl.errors import SpecInvalidError
from airgapctl.specs.cache import VerdictCache
from airgapctl.specs.explain import issues_from_error
from airgapctl.specs.grammar import DEFINITION_NAMES
from airgapctl.specs.loader import NO_PATHS, TOO_DEEP, SpecSources, invalid_spec_error, read_sources, require_spec_file
from airgapctl.specs.metaschema import meta_schema
from airgapctl.specs.misplaced import in_place, misplaced_issue, outside
from airgapctl.specs.model import LoadedSpec, SpecIssue
from airgapctl.specs.operation_rules import operation_issues, tag_issues
from airgapctl.specs.refs import lookup, position
from airgapctl.specs.schema_objects import schema_object_issues, unknown_dialects
from airgapctl.specs.verdicts import Verdict, recall, remember

# Bump when the checks here change, so verdicts cached by an older airgapctl are not reused.
CHECKS_REVISION = 2


def validate_spec(
    path: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None, *, use_cache: bool = True
) -> LoadedSpec:
    """Load and validate a spec; raise one SpecInvalidError carrying every issue found.

    ``cache_dir`` defaults to ``$XDG_CACHE_HOME/airgapctl/specs``; ``use_cache=False`` neither
    reads nor writes verdicts.
    """
    display = require_spec_file(path)
    cache = VerdictCache(cache_dir) if use_cache else None
    verdict = _recalled(cache, display) if cache is not None else None
    if verdict is None:
        verdict = _checked(display, cache)
    if verdict.issues or verdict.spec is None:
        raise invalid_spec_error(display, verdict.issues)
    return verdict.spec


def _recalled(cache: VerdictCache, display: str) -> Verdict | None:
    try:
        with open(display, "rb") as handle:
            root_bytes = handle.read()
    except OSError:
        return None  # the load says why
    return recall(cache, display, root_bytes, validator_version())


def _checked(display: str, cache: VerdictCache | None) -> Verdict:
    sources = read_sources(display)
    try:
        issues = check_sources(sources)
    except RecursionError:  # the meta-schema checks recurse with the document
        issues = [SpecIssue(display, "", TOO_DEEP, kind="document")]
    spec = dataclasses.replace(sources.spec, warnings=(*sources.spec.warnings, *_dialect_warnings(sources)))
    verdict = Verdict(None if issues else spec, issues)
    if cache is not None and not sources.problems:  # a partial read is reported, never remembered
        remember(cache, sources.files, validator_version(), verdict.spec, issues)
    return verdict


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


class SpecsInvalidError(SpecInvalidError):
    """Some of several specs are invalid; ``results`` says which, with each one's issues."""

    def __init__(self, message: str, results: Sequence[SpecResult], hint: str | None = None) -> None:
        super().__init__(message, [issue for result in results for issue in result.issues], hint=hint)
        self.results = tuple(results)


def summary_error(results: Sequence[SpecResult], hint: str | None = None) -> SpecsInvalidError | None:
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
    return SpecsInvalidError(message, results, hint=hint)


@functools.cache
def validator_version() -> str:
    """What a verdict depends on besides the spec: the meta-schemas', jsonschema's and our versions."""
    names = ("openapi-spec-validator", "openapi-schema-validator", "jsonschema", "jsonschema-specifications")
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in names)
    return f"{versions}, airgapctl {__version__} checks {CHECKS_REVISION}"


def check_sources(sources: SpecSources) -> list[SpecIssue]:
    """Every problem of a spec as read: meta-schema, references, and the rules beyond the schema."""
    family = sources.family
    meta = meta_schema(family)
    root = sources.files.root
    misplaced = sources.walk.misplaced
    checked: list[SpecIssue] = []
    for error in meta.errors(in_place(root.document, root, "", misplaced)):
        checked += issues_from_error(root.display, "", error, family)
    definitions = DEFINITION_NAMES[family]
    by_file: dict[str, list] = {}
    for ref in misplaced:
        by_file.setdefault(ref.source.path, []).append(ref)
    for fragment in sources.fragments:
        if fragment.kind in definitions:
            _, node = lookup(fragment.source.document, fragment.pointer)
            node = in_place(node, fragment.source, fragment.pointer, by_file.get(fragment.source.path, []))
            for error in meta.errors(node, definitions[fragment.kind]):
                checked += issues_from_error(fragment.source.display, fragment.pointer, error, family)
    checked += sources.findings
    checked += schema_object_issues(sources.walk.schemas, family, root.document)
    checked += operation_issues(sources.spec)
    checked += tag_issues(root.display, root.document.get("tags"))
    # What a misplaced $ref put in place is reported where it is written, not at the $ref.
    checked = [issue for issue in checked if outside(issue, misplaced)]
    issues = [*sources.problems, *(misplaced_issue(ref, family) for ref in misplaced), *checked]
    if any(issue.message == NO_PATHS for issue in sources.problems):  # the same, said more plainly
        issues = [issue for issue in issues if issue.message != "'paths' is a required property"]
    documents = {f.display: f.document for f in sources.files.files.values()}
    return [
        dataclasses.replace(issue, position=position(documents[issue.file], issue.pointer))
        if issue.file in documents else issue
        for issue in dict.fromkeys(issues)
    ]  # fmt: skip


def _dialect_warnings(sources: SpecSources) -> list[SpecIssue]:
    if sources.family != "3.1":
        return []
    root = sources.files.root
    return [
        SpecIssue(
            root.display,
            "/jsonSchemaDialect" if uri == root.document.get("jsonSchemaDialect") else "",
            f"Schema Objects use the JSON Schema dialect {uri!r}, which airgapctl does not ship:"
            " their keywords were not checked",
            kind="json-schema",
        )
        for uri in sorted(map(str, unknown_dialects(sources.walk.schemas, root.document)))
    ]
