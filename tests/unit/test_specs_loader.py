"""Loading OpenAPI 2.0/3.0/3.1 into LoadedSpec: files, references, operations, and load errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from airgapctl.errors import BadInputError, SpecInvalidError
from airgapctl.specs.documents import DocumentError, parse_document
from airgapctl.specs.loader import NO_PATHS, load_spec
from airgapctl.specs.model import LoadedSpec, Operation, Parameter

SPECS = Path(__file__).resolve().parent.parent / "fixtures" / "specs"
PETSTORE = SPECS / "petstore30" / "openapi.yaml"
BAD = SPECS / "bad"


@pytest.fixture(scope="module")
def petstore() -> LoadedSpec:
    return load_spec(PETSTORE)


def operation(spec: LoadedSpec, method: str, path: str) -> Operation:
    (found,) = [op for op in spec.operations if op.method == method and op.path == path]
    return found


def parameter(op: Operation, name: str) -> Parameter:
    (found,) = [p for p in op.parameters if p.name == name]
    return found


def issues_of(path: Path) -> list[str]:
    with pytest.raises(SpecInvalidError) as caught:
        load_spec(path)
    return [str(issue) for issue in caught.value.issues]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


MINIMAL = """openapi: 3.0.3
info: {{title: t, version: "1"}}
paths:
  /items:
    get:
      parameters:
        - $ref: "{ref}"
      responses: {{"200": {{description: ok}}}}
"""


# --- a multi-file OpenAPI 3.0 definition -------------------------------------------------------


def test_petstore_reads_every_referenced_file_root_first(petstore):
    assert petstore.path == str(PETSTORE)
    assert petstore.openapi_version == "3.0.3"
    assert petstore.title == "Petstore (multi-file)"
    names = [Path(f).relative_to(PETSTORE.parent).as_posix() for f in petstore.files]
    assert names[0] == "openapi.yaml"
    assert sorted(names[1:]) == [
        "components/bodies.yaml",
        "components/common.yaml",
        "components/parameters.yaml",
        "components/responses.yaml",
        "components/schemas.yaml",
        "paths/pets.yaml",
    ]
    assert len(petstore.sha256) == 64


def test_operations_come_in_document_order_with_literal_and_templated_siblings(petstore):
    assert [(op.method, op.path) for op in petstore.operations] == [
        ("GET", "/pets"),
        ("POST", "/pets"),
        ("GET", "/pets/mine"),
        ("GET", "/pets/{petId}"),
        ("PUT", "/pets/{petId}"),
        ("DELETE", "/pets/{petId}"),
        ("PUT", "/pets/{petId}/photo"),
        ("GET", "/pets/legacy"),
        ("GET", "/owners/{ownerId}/visits/{visitDate}"),
        ("GET", "/nodes/search"),
    ]


def test_operation_location_is_the_file_it_is_written_in(petstore):
    through_ref = operation(petstore, "GET", "/pets/{petId}")
    assert through_ref.file == str(PETSTORE.parent / "paths" / "pets.yaml")
    assert through_ref.pointer == "/item/get"
    inline = operation(petstore, "GET", "/owners/{ownerId}/visits/{visitDate}")
    assert inline.file == str(PETSTORE)
    assert inline.pointer == "/paths/~1owners~1{ownerId}~1visits~1{visitDate}/get"


def test_parameters_resolve_ref_chains_and_keep_their_schema(petstore):
    listing = operation(petstore, "GET", "/pets")
    assert parameter(listing, "limit") == Parameter(
        "limit", "query", False, {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
    )
    assert parameter(listing, "status").schema == {"type": "string", "enum": ["available", "pending", "sold"]}
    trace = parameter(listing, "X-Trace-Id")
    assert (trace.location, trace.schema["pattern"]) == ("header", "^[0-9a-f]{32}$")
    visit = operation(petstore, "GET", "/owners/{ownerId}/visits/{visitDate}")
    assert [(p.name, p.location, p.required, p.schema.get("format")) for p in visit.parameters] == [
        ("ownerId", "path", True, "uuid"),
        ("visitDate", "path", True, "date"),
    ]
    pet_id = parameter(operation(petstore, "GET", "/pets/{petId}"), "petId")
    assert pet_id.schema == {"type": "integer", "format": "int64", "minimum": 1}


def test_operation_parameters_override_path_level_ones_by_name_and_location(petstore):
    assert parameter(operation(petstore, "GET", "/pets/{petId}"), "verbose").required is True
    assert parameter(operation(petstore, "PUT", "/pets/{petId}"), "verbose").required is False
    assert [p.name for p in operation(petstore, "GET", "/pets/{petId}").parameters] == ["petId", "verbose"]


def test_request_bodies_give_media_types_lower_cased_without_parameters(petstore):
    create = operation(petstore, "POST", "/pets")  # requestBody through a $ref into another file
    assert (create.content_types, create.body_required) == (("application/json", "multipart/form-data"), True)
    replace = operation(petstore, "PUT", "/pets/{petId}")
    assert (replace.content_types, replace.body_required) == (("application/json", "application/xml"), True)
    photo = operation(petstore, "PUT", "/pets/{petId}/photo")
    assert (photo.content_types, photo.body_required) == (("multipart/form-data",), False)
    assert operation(petstore, "GET", "/pets").content_types == ()


def test_deprecation_sunset_tags_and_missing_operation_id(petstore):
    legacy = operation(petstore, "GET", "/pets/legacy")
    assert (legacy.deprecated, legacy.sunset) == (True, "2025-12-31")  # a YAML date stays the ISO string
    assert legacy.tags == ("pets",)
    visit = operation(petstore, "GET", "/owners/{ownerId}/visits/{visitDate}")
    assert (visit.operation_id, visit.deprecated, visit.sunset) == (None, False, None)


def test_a_self_referencing_schema_is_cut_to_any_value(petstore):
    tree = parameter(operation(petstore, "GET", "/nodes/search"), "tree")
    assert tree.schema == {
        "type": "object",
        "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {}}},
    }


def test_schemas_referring_to_each_other_across_files_load_and_are_cut():
    spec = load_spec(SPECS / "circular" / "openapi.yaml")
    (shape,) = spec.operations[0].parameters
    assert shape.schema == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "grove": {"type": "object", "properties": {"trees": {"type": "array", "items": {}}}},
            "parent": {},
        },
    }


# --- OpenAPI 3.1 and Swagger 2.0 ------------------------------------------------------------------


def test_openapi_31_keeps_json_schema_2020_features():
    spec = load_spec(SPECS / "inventory31.yaml")
    assert spec.openapi_version == "3.1.0"
    assert [(op.method, op.path) for op in spec.operations] == [
        ("GET", "/warehouses/{warehouseId}/items"),
        ("POST", "/warehouses/{warehouseId}/items"),
    ]  # webhooks are calls the API makes, not routes
    listing = spec.operations[0]
    assert parameter(listing, "label").schema["type"] == ["string", "null"]
    warehouse = parameter(listing, "warehouseId")
    assert warehouse.schema == {  # 3.1 applies the keywords beside $ref too
        "allOf": [
            {"type": "string", "pattern": "^[A-Z]{3}[0-9]{2}$"},
            {"description": "siblings of $ref are allowed in 3.1"},
        ]
    }


def test_swagger_20_bodies_come_from_consumes_and_parameters_keep_inline_schemas():
    spec = load_spec(SPECS / "swagger20.yaml")
    assert spec.openapi_version == "2.0"
    assert [op.path for op in spec.operations][:1] == ["/documents"]  # basePath is not folded in
    listing = operation(spec, "GET", "/documents")
    assert parameter(listing, "kind").schema == {"type": "string", "enum": ["invoice", "receipt"]}
    assert (listing.content_types, listing.body_required) == ((), False)
    create = operation(spec, "POST", "/documents")
    assert (create.content_types, create.body_required, create.parameters) == (("application/json",), True, ())
    scan = operation(spec, "PUT", "/documents/{documentId}/scan")
    assert (scan.content_types, scan.body_required) == (("multipart/form-data",), True)
    assert [(p.name, p.location) for p in scan.parameters] == [("documentId", "path"), ("X-Request-Id", "header")]
    assert parameter(scan, "documentId").schema == {"type": "integer", "format": "int64", "minimum": 1}


@pytest.mark.parametrize("name", ["api.json", "api.yaml"])
def test_json_documents_by_name_or_content(tmp_path, name):
    document = {
        "openapi": "3.0.3",
        "info": {"title": "JSON", "version": "1"},
        "paths": {"/a": {"get": {"operationId": "a", "responses": {"200": {"description": "ok"}}}}},
    }
    spec = load_spec(write(tmp_path / name, json.dumps(document, indent=2)))
    assert [(op.method, op.path, op.operation_id) for op in spec.operations] == [("GET", "/a", "a")]


def test_yaml_is_read_as_the_json_data_model():
    text = (
        "base: &base {type: string, maxLength: 5}\n"
        "merged: {<<: *base, maxLength: 9}\n"
        "responses: {200: ok, on: yes, 'x': [1, 1.5, null, ~, true]}\n"
        "sunset: 2025-12-31\n"
        "again: *base\n"
    )
    assert parse_document(text.encode(), "x.yaml") == {
        "base": {"type": "string", "maxLength": 5},
        "merged": {"type": "string", "maxLength": 9},
        "responses": {"200": "ok", "on": True, "x": [1, 1.5, None, None, True]},  # keys keep their text
        "sunset": "2025-12-31",  # dates stay strings
        "again": {"type": "string", "maxLength": 5},
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!binary aGVsbG8=\n", "unsupported YAML tag tag:yaml.org,2002:binary at line 1, column 4"),
        ("a: *nowhere\n", "undefined or recursive YAML alias *nowhere at line 1, column 4"),
        ("? [1, 2]\n: x\n", "unsupported YAML mapping key (only scalars can be JSON keys) at line 1, column 8"),
        ("a: 1\n---\nb: 2\n", "malformed YAML: expected a single document in the stream, found several"),
    ],
)
def test_yaml_without_a_json_meaning_is_refused_with_its_line(text, message):
    with pytest.raises(DocumentError) as caught:
        parse_document(text.encode(), "x.yaml")
    assert str(caught.value.issue) == f"x.yaml:/: {message}"


# --- digest ----------------------------------------------------------------------------------------


def test_digest_covers_every_referenced_file_and_not_the_location(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    shutil.copytree(PETSTORE.parent, first)
    shutil.copytree(PETSTORE.parent, second)
    original = load_spec(first / "openapi.yaml").sha256
    assert load_spec(second / "openapi.yaml").sha256 == original
    common = second / "components" / "common.yaml"  # three files away from the root
    common.write_text(common.read_text().replace("type: integer", "type: number"))
    assert load_spec(second / "openapi.yaml").sha256 != original


# --- references from local files only -------------------------------------------------------------


def test_remote_refs_are_refused_with_file_pointer_and_fix():
    issues = issues_of(BAD / "remote_ref.yaml")
    assert issues[0].startswith(f"{BAD / 'remote_ref.yaml'}:/paths/~1items/get/parameters/0/$ref: ")
    assert "https://schemas.example.com/params.yaml#/Limit" in issues[0]
    assert "vendor the referenced file next to the spec and point $ref at it" in issues[0]
    assert issues[1].startswith(f"{BAD / 'parts' / 'remote_inside.yaml'}:/Item/properties/owner/$ref: ")
    assert len(issues) == 2


def test_a_missing_file_is_named_with_the_ref_that_needs_it():
    (issue,) = issues_of(BAD / "missing_ref_file.yaml")
    assert issue.startswith(f"{BAD / 'missing_ref_file.yaml'}:/paths/~1items/$ref: ")
    assert f"no such file {BAD / 'paths' / 'not-there.yaml'}" in issue


def test_missing_pointer_targets_are_reported_where_the_ref_is():
    issues = issues_of(BAD / "missing_pointer.yaml")
    root = BAD / "missing_pointer.yaml"
    assert issues == [
        f"{root}:/paths/~1items/get/parameters/0/$ref: $ref 'parts/parameters.yaml#/Offset': "
        f"{BAD / 'parts' / 'parameters.yaml'} has no /Offset",
        f"{root}:/paths/~1items/get/responses/200/content/application~1json/schema/$ref: "
        f"$ref '#/components/schemas/Missing': {root} has no /components/schemas/Missing",
    ]


def test_a_spec_without_paths_is_an_error_not_a_crash():
    assert issues_of(BAD / "no_paths.yaml") == [f"{BAD / 'no_paths.yaml'}:/: {NO_PATHS}"]


@pytest.mark.parametrize(("name", "where"), [("malformed.yaml", "line 11, column 8"), ("malformed.json", "line 4")])
def test_malformed_documents_report_file_and_line(name, where):
    with pytest.raises(SpecInvalidError) as caught:
        load_spec(BAD / name)
    assert str(BAD / name) in caught.value.message
    assert where in caught.value.message


def test_a_ref_chain_that_loops_is_an_error():
    (issue,) = issues_of(BAD / "ref_loop.yaml")
    assert issue.startswith(f"{BAD / 'ref_loop.yaml'}:/paths/~1items/get/parameters/0: circular $ref chain")


def test_absolute_and_file_refs_work_when_the_file_exists_locally(tmp_path):
    shared = write(tmp_path / "elsewhere" / "shared.yaml", "Limit: {name: limit, in: query, schema: {type: integer}}\n")
    for ref in (f"{shared}#/Limit", f"{shared.as_uri()}#/Limit"):
        spec = load_spec(write(tmp_path / "api" / "openapi.yaml", MINIMAL.format(ref=ref)))
        assert parameter(spec.operations[0], "limit").schema == {"type": "integer"}
    missing = write(tmp_path / "api" / "openapi.yaml", MINIMAL.format(ref=f"{tmp_path}/gone.yaml#/Limit"))
    assert "no such file" in issues_of(missing)[0]


def test_refs_inside_examples_are_values_not_references(tmp_path):
    text = MINIMAL.format(ref="#/components/parameters/Q") + (
        "components:\n  parameters:\n    Q:\n      name: q\n      in: query\n      schema: {type: object}\n"
        "      example: {$ref: 'https://example.com/not/a/reference'}\n"
    )
    assert len(load_spec(write(tmp_path / "openapi.yaml", text)).operations) == 1


def test_a_missing_root_file_is_bad_input(tmp_path):
    with pytest.raises(BadInputError, match=r"spec file .*nope\.yaml does not exist"):
        load_spec(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a list\n", ":/: not an OpenAPI definition: a list, not a mapping"),
        ("info: {title: t}\n", ":/: not an OpenAPI definition: no 'openapi' or 'swagger' field"),
        ("openapi: 3.2.0\n", ":/openapi: unsupported OpenAPI version '3.2.0'"),
        ("swagger: '1.2'\n", ":/swagger: unsupported OpenAPI version '1.2'"),
    ],
)
def test_documents_that_are_not_openapi_we_read(tmp_path, text, expected):
    path = write(tmp_path / "spec.yaml", text)
    assert issues_of(path)[0].startswith(f"{path}{expected}")
