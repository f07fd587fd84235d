"""The spec corpus (tests/fixtures/specs/corpus): each case is a class of spec seen in real public
specs or a mistake people make, with the verdict the OpenAPI standard gives it. `specs validate`
must give that verdict, with the kind of problem (or warning) the case is about, and
openapi-spec-validator must agree, unless the case says why it cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from airgapctl.errors import SpecInvalidError
from airgapctl.specs.validate import validate_spec

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "specs" / "corpus"

# Why openapi-spec-validator's verdict differs from the standard's, where it does.
ONLY_THE_TYPE = "OpenAPI 3.0 asks a default to conform to its type only; openapi-spec-validator checks the whole schema"
DEFAULT_IS_ANNOTATION = (
    "in JSON Schema 2020-12 (OpenAPI 3.1) default is an annotation; openapi-spec-validator checks it"
)
BODIES_UNCHECKED = "openapi-spec-validator checks no request body's Schema Object against the dialect"
REQUIRED_IS_FREE = (
    "JSON Schema lets `required` name a property no `properties` defines; openapi-spec-validator refuses that"
    " beside allOf"
)
PATH_ITEM_SIBLINGS = (
    "OpenAPI gives the fields beside a Path Item's $ref their meaning; openapi-spec-validator ignores them,"
    " so the path parameter declared there goes unseen"
)


@dataclass(frozen=True)
class Case:
    path: str
    valid: bool  # the standard's verdict, and ours
    kind: str | None = None  # the first problem's kind (invalid) or the warning's (valid)
    reference_valid: bool | None = None  # openapi-spec-validator's, when it differs
    why: str = ""

    @property
    def file(self) -> Path:
        return CORPUS / self.path


CASES = [
    # Multi-file specs, references and shapes real public specs have.
    Case("multi_file/openapi.yaml", True),
    Case("circular/openapi.yaml", True),
    Case("swagger20_basepath.yaml", True),
    Case("paths_and_webhooks_31.yaml", True),
    Case("ref_siblings_30.yaml", True),
    Case("ref_siblings_31.yaml", True),
    Case("yaml_anchors.yaml", True),
    Case("long_descriptions.yaml", True),
    Case("non_ascii.yaml", True),
    Case("schemas_2020_12_31.yaml", True),
    Case("nullable_default_30.yaml", True),
    # paths: empty, absent, or absent where 3.1 allows it.
    Case("empty_paths.yaml", True, kind="no-operations"),
    Case("webhooks_only_31.yaml", True, kind="no-operations"),
    Case("components_only_31.yaml", True, kind="no-operations"),
    Case("no_paths_30.yaml", False, kind="no-paths"),
    Case("no_paths_20.yaml", False, kind="no-paths"),
    Case("nothing_31.yaml", False, kind="structure"),
    # Mistakes, each reported as what it is.
    Case("operation_refs_30/openapi.yaml", False, kind="ref-not-allowed"),
    Case("default_type_30.yaml", False, kind="default-type"),
    Case("exclusive_boolean_31.yaml", False, kind="json-schema"),
    Case("type_list_30.yaml", False, kind="structure"),
    Case("bad_pattern.yaml", False, kind="json-schema"),
    Case("undeclared_path_parameter.yaml", False, kind="path-parameter"),
    Case("duplicate_operation_id.yaml", False, kind="duplicate"),
    # Where the standard and openapi-spec-validator part.
    Case("default_outside_enum_30.yaml", True, reference_valid=False, why=ONLY_THE_TYPE),
    Case("default_annotation_31.yaml", True, reference_valid=False, why=DEFAULT_IS_ANNOTATION),
    Case("exclusive_in_body_31.yaml", False, kind="json-schema", reference_valid=True, why=BODIES_UNCHECKED),
    Case("required_beside_allof_30.yaml", True, reference_valid=False, why=REQUIRED_IS_FREE),
    Case("path_item_siblings_30/openapi.yaml", True, reference_valid=False, why=PATH_ITEM_SIBLINGS),
]


def test_the_corpus_is_every_spec_in_it():
    roots = {case.path for case in CASES}
    files = {p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("*.yaml")}
    files |= {p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("*/openapi.yaml")}
    assert files == roots


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.path)
def test_validate_gives_the_standards_verdict_and_names_the_class(case):
    try:
        spec = validate_spec(case.file, use_cache=False)
    except SpecInvalidError as error:
        assert not case.valid, [str(issue) for issue in error.issues]
        assert error.issues[0].kind == case.kind, [str(issue) for issue in error.issues]
        assert all(str(case.file.parent) in issue.file for issue in error.issues)
        return
    assert case.valid
    assert [warning.kind for warning in spec.warnings] == ([case.kind] if case.kind else [])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.path)
def test_openapi_spec_validator_agrees_or_the_case_says_why_not(case):
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    document, base_uri = read_from_filename(str(case.file))
    try:
        validate(document, base_uri=base_uri)
        reference_valid = True
    except Exception:  # any of its errors is a "no"
        reference_valid = False
    expected = case.valid if case.reference_valid is None else case.reference_valid
    assert reference_valid is expected
    assert (reference_valid != case.valid) == bool(case.why), "a case where the verdicts part says why"
