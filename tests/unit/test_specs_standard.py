"""Agreeing with the OpenAPI standard, and saying what to change: misplaced $refs once, known
mistakes with their fix, defaults of the schema's type, 3.1 Schema Objects in their dialect."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest
import yaml

from airgapctl.errors import SpecInvalidError
from airgapctl.specs.loader import load_spec
from airgapctl.specs.metaschema import DRAFT_2020_12, OAS31_DIALECT, dialect_schema
from airgapctl.specs.schema_objects import regex_problem
from airgapctl.specs.validate import validate_spec

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "specs" / "corpus"


def write(path: Path, document) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def issues_of(path: Path):
    with pytest.raises(SpecInvalidError) as caught:
        validate_spec(path, use_cache=False)
    return list(caught.value.issues)


def spec30(paths=None, **extra):
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths or {}, **extra}


OK = {"200": {"description": "ok"}}


# --- a $ref where the standard allows none --------------------------------------------------------


def test_a_ref_on_an_operation_is_one_issue_and_the_operation_it_leads_to_counts():
    root = CORPUS / "operation_refs_30" / "openapi.yaml"
    issues = issues_of(root)
    assert [(i.pointer, i.kind) for i in issues] == [
        ("/paths/~1stores/get/$ref", "ref-not-allowed"),
        ("/paths/~1stores~1{store_id}/get/$ref", "ref-not-allowed"),
        ("/paths/~1stores~1{store_id}/delete/$ref", "ref-not-allowed"),
    ]
    assert issues[0].message == "OpenAPI 3.0 does not allow $ref on an Operation Object"
    spec = load_spec(root)  # loading alone does not refuse it: the gateway side reads what it leads to
    get_store = next(op for op in spec.operations if op.operation_id == "stores_get")
    assert get_store.file.endswith("resources/stores/get_store.yaml") and get_store.pointer == ""
    assert [(p.name, p.location) for p in get_store.parameters] == [("store_id", "path")]


def test_what_a_misplaced_ref_leads_to_is_checked_where_it_is_written(tmp_path):
    write(tmp_path / "ops.yaml", {"getA": {"responses": {"200": {}}}})
    root = write(tmp_path / "openapi.yaml", spec30({"/a": {"get": {"$ref": "ops.yaml#/getA"}}}))
    assert [(Path(i.file).name, i.pointer, i.message) for i in issues_of(root)] == [
        ("openapi.yaml", "/paths/~1a/get/$ref", "OpenAPI 3.0 does not allow $ref on an Operation Object"),
        ("ops.yaml", "/getA/responses/200", "'description' is a required property"),
    ]


def test_a_ref_for_the_whole_paths_map_is_one_issue_and_its_paths_are_read(tmp_path):
    write(tmp_path / "paths.yaml", {"/a/{id}": {"get": {"parameters": [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}], "responses": OK}}})  # fmt: skip
    root = write(tmp_path / "openapi.yaml", {**spec30(), "paths": {"$ref": "paths.yaml"}})
    (issue,) = issues_of(root)
    assert (issue.pointer, issue.message) == (
        "/paths/$ref",
        "OpenAPI 3.0 does not allow $ref in place of the 'paths' map of the OpenAPI Object",
    )
    assert issue.fix == "list the entries in place; each entry may be a $ref"
    assert [(op.method, op.path) for op in load_spec(root).operations] == [("GET", "/a/{id}")]


def test_a_ref_where_a_string_is_expected_says_so_once(tmp_path):
    write(tmp_path / "texts.yaml", {"intro": "Hello"})
    root = write(tmp_path / "openapi.yaml", spec30(tags=[{"name": "a", "description": {"$ref": "texts.yaml#/intro"}}]))
    (issue,) = issues_of(root)
    assert (issue.pointer, issue.kind) == ("/tags/0/description/$ref", "ref-not-allowed")


# --- known mistakes and their fixes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "pointer", "message", "fix"),
    [
        (
            {"paths": {"/a": {"get": {"sumary": "x", "responses": OK}}}},
            "/paths/~1a/get/sumary",
            "unknown field 'sumary'",
            "did you mean 'summary'?",
        ),
        (
            {"paths": {"/a": {"get": {"x_internal": True, "responses": OK}}}},
            "/paths/~1a/get/x_internal",
            "unknown field 'x_internal'",
            "an extension starts with a lower-case 'x-': write 'x-internal'",
        ),
        (
            {"paths": {"/a": {"get": {"owner": "me", "responses": OK}}}},
            "/paths/~1a/get/owner",
            "unknown field 'owner'",
            "a field the standard does not define must start with x- (an extension)",
        ),
        ({"paths": {"a": {}}}, "/paths/a", "path 'a' does not start with '/'", "write '/a'"),
        (
            {"paths": {"/a": {"get": {"responses": {"2xx": {"description": "ok"}}}}}},
            "/paths/~1a/get/responses/2xx",
            "'2xx' is not a response code",
            "a response code is three digits (200), a range with capital X (2XX), or default",
        ),
        (
            {"components": {"schemas": {"A": {"type": "integer", "maximum": 9, "exclusiveMaximum": 9}}}},
            "/components/schemas/A/exclusiveMaximum",
            "expected boolean, got integer",
            "in OpenAPI 3.0 exclusiveMaximum is a flag: write 'maximum: N, exclusiveMaximum: true'"
            " (or move to openapi: 3.1.0)",
        ),
        (
            {"paths": {"/a": {"get": {}}}},
            "/paths/~1a/get",
            "'responses' is a required property",
            "an operation needs at least one response, e.g. responses: {'200': {description: OK}}",
        ),
    ],
)
def test_known_mistakes_name_the_fix(tmp_path, change, pointer, message, fix):
    (issue,) = issues_of(write(tmp_path / "openapi.yaml", {**spec30(), **change}))
    assert (issue.pointer, issue.message, issue.fix) == (pointer, message, fix)


def test_openapi_31_exclusive_bounds_are_numbers():
    (issue,) = issues_of(CORPUS / "exclusive_boolean_31.yaml")
    assert issue.pointer == "/components/schemas/Reading/properties/humidity/exclusiveMaximum"
    assert issue.message == "expected number, got boolean"
    assert issue.fix == (
        "in OpenAPI 3.1 (JSON Schema 2020-12) exclusiveMaximum is the bound itself: replace"
        " 'maximum: N, exclusiveMaximum: true' by 'exclusiveMaximum: N'"
    )


# --- defaults ------------------------------------------------------------------------------------


def test_defaults_must_be_of_the_type_in_swagger_20_parameters_and_schemas(tmp_path):
    document = {
        "swagger": "2.0",
        "info": {"title": "t", "version": "1"},
        "paths": {"/a": {"get": {"parameters": [{"name": "n", "in": "query", "type": "integer", "default": "1"}],
                                 "responses": OK}}},
        "definitions": {"B": {"type": "boolean", "default": 0}, "C": {"type": "number", "default": 1.5}},
    }  # fmt: skip
    issues = issues_of(write(tmp_path / "swagger.yaml", document))
    assert [(i.pointer, i.message) for i in issues] == [
        ("/paths/~1a/get/parameters/0/default", 'default "1" is a string, but the type is integer'),
        ("/definitions/B/default", "default 0 is an integer, but the type is boolean"),
    ]


def test_a_null_default_needs_nullable_in_30(tmp_path):
    schema = {"type": "string", "default": None}
    (issue,) = issues_of(write(tmp_path / "a.yaml", spec30(components={"schemas": {"A": schema}})))
    assert (issue.message, issue.fix) == (
        "default is null, but the type is string",
        "add 'nullable: true' to allow null, or leave the default out",
    )


# --- Path Item $ref siblings ---------------------------------------------------------------------


def test_fields_beside_a_path_item_ref_count():
    spec = validate_spec(CORPUS / "path_item_siblings_30" / "openapi.yaml", use_cache=False)
    (operation,) = spec.operations
    assert operation.file.endswith("paths/store.yaml")
    assert [(p.name, p.location, p.schema) for p in operation.parameters] == [("storeId", "path", {"type": "string"})]


# --- patterns ------------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["^[a-z]+$", r"(?<year>\d{4})-(?<month>\d{2})", r"^\p{L}+$", r"\u{1F600}"])
def test_ecma_262_patterns_python_reads_differently_are_not_refused(pattern):
    assert regex_problem(pattern) is None


def test_a_broken_pattern_is_refused():
    assert regex_problem("[a-z") == "unterminated character set at position 0"


# --- 3.1 dialects ---------------------------------------------------------------------------------


def test_a_dialect_airgapctl_does_not_ship_is_a_warning_not_an_error(tmp_path):
    document = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "jsonSchemaDialect": "https://example.com/dialects/house",
        "components": {"schemas": {"A": {"type": "integer", "exclusiveMaximum": True}}},
    }
    spec = validate_spec(write(tmp_path / "a.yaml", document), use_cache=False)
    dialect = [w for w in spec.warnings if w.kind == "json-schema"]
    assert [(w.pointer, "https://example.com/dialects/house" in w.message) for w in dialect] == [
        ("/jsonSchemaDialect", True)
    ]


def test_a_schema_may_name_the_2020_12_dialect_itself(tmp_path):
    schema = {"$schema": DRAFT_2020_12, "type": "integer", "exclusiveMinimum": False}
    document = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "components": {"schemas": {"A": schema}}}
    (issue,) = issues_of(write(tmp_path / "a.yaml", document))
    assert issue.pointer == "/components/schemas/A/exclusiveMinimum"


_VALUES = [None, True, False, 0, 1, -1, 1.5, "", "x", "string", "integer", "null", [], ["a"], ["a", "a"], {},
           {"type": "string"}, {"$ref": "#/a"}, {"propertyName": "kind"}, {"url": "https://x"}]  # fmt: skip
_KEYWORDS = ["type", "enum", "const", "minimum", "exclusiveMaximum", "maxLength", "pattern", "items", "prefixItems",
             "properties", "required", "allOf", "anyOf", "not", "$ref", "$defs", "discriminator", "xml", "$id",
             "externalDocs", "dependentRequired", "unevaluatedProperties", "contains", "minContains"]  # fmt: skip


@pytest.mark.parametrize("uri", [OAS31_DIALECT, DRAFT_2020_12])
def test_the_compiled_dialect_check_agrees_with_jsonschema(uri):
    meta = dialect_schema(uri)
    assert meta is not None and meta.fast is not None, "the dialect must compile, or 3.1 validation is slow"
    document = yaml.safe_load((CORPUS / "schemas_2020_12_31.yaml").read_text())
    base = document["components"]["schemas"]["Measurement"]
    rng = random.Random(uri)
    verdicts = []
    for _ in range(150):
        schema = copy.deepcopy(base)
        for _ in range(rng.randint(1, 3)):
            properties = schema.get("properties")
            inner = [v for v in properties.values() if isinstance(v, dict)] if isinstance(properties, dict) else []
            target = rng.choice([schema, *inner])
            target[rng.choice(_KEYWORDS)] = copy.deepcopy(rng.choice(_VALUES))
        verdicts.append((meta.fast.is_valid(schema), not meta.explain(schema)))
    assert [fast for fast, _ in verdicts] == [slow for _, slow in verdicts]
    assert 15 < sum(not slow for _, slow in verdicts) < 145  # both kinds were exercised
