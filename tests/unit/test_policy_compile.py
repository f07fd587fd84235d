"""Compiling loaded specs and access.yml into policy.json: regexes, order, conflicts, determinism."""

from __future__ import annotations

import json
import random
import re

import pytest
import yaml

from airgapctl.errors import BadInputError, ExitCode
from airgapctl.schemas import validator
from airgapctl.specs.access import load_access
from airgapctl.specs.compile import compile_policy, write_policy
from airgapctl.specs.conflicts import PolicyConflictError
from airgapctl.specs.model import LoadedSpec, Operation, Parameter
from airgapctl.specs.operations import generated_operation_id

INT = {"type": "integer", "minimum": 1}


def op(method, path, op_id=None, params=(), tags=(), deprecated=False, sunset=None, content=(), pointer=None):
    parameters = tuple(Parameter(n, "path", True, s) for n, s in params)
    return Operation(
        method, path, op_id, tuple(tags), deprecated, sunset, parameters, bool(content), tuple(content),
        "/site/specs/api.yaml", pointer or f"/paths/{path.replace('/', '~1')}/{method.lower()}",
    )  # fmt: skip


def spec(*operations):
    return LoadedSpec("/site/specs/api.yaml", "a" * 64, ("/site/specs/api.yaml",), "3.0.3", "Pets", tuple(operations))


PETS = spec(
    op("GET", "/pets", "listPets", tags=["pets"]),
    op("POST", "/pets", "createPet", tags=["pets"], content=["application/json"]),
    op("GET", "/pets/{petId}", "getPet", params=[("petId", INT)], tags=["pets"]),
    op("GET", "/pets/mine", "myPets", tags=["pets"]),
    op("DELETE", "/pets/{petId}", None, params=[("petId", INT)], deprecated=True, sunset="2026-01-01"),
    op("GET", "/pets/{petId}/photos/{kind}", "photos", params=[("petId", INT), ("kind", {"enum": ["thumb", "full"]})]),
)


def access_doc(**changes):
    doc = {
        "version": 1,
        "site": "lab",
        "apis": [
            {
                "name": "pets",
                "spec": "specs/api.yaml",
                "base_path": "/pets-api",
                "upstream": {"url": "http://127.0.0.1:9/v1"},
            }
        ],
        "roles": [
            {"name": "reader", "allow": [{"method": "GET", "path": "/pets/**"}, {"operation": "listPets"}]},
            {
                "name": "admin",
                "rate_limit": {"per_second": 5},
                "allow": [{"tag": "pets"}, {"method": "DELETE", "path": "/pets/*"}],
            },
        ],
        "clients": [
            {"name": "alice", "subject": "CN=alice,O=Example", "roles": ["reader"]},
            {
                "name": "bob",
                "subject": "CN=bob,O=Example",
                "roles": ["admin", "reader"],
                "rate_limit": {"per_second": 50, "burst": 10},
            },
        ],
        "operations": [
            {"api": "pets", "operation": "createPet", "max_body_bytes": 2048, "rate_limit": {"per_second": 2}}
        ],
    }
    doc.update(changes)
    return doc


@pytest.fixture
def write_access(tmp_path):
    def write(doc):
        path = tmp_path / "access.yml"
        path.write_text(yaml.safe_dump(doc))
        return load_access(path)

    return write


def compiled(write_access, specs=None, **changes):
    return compile_policy(write_access(access_doc(**changes)), {"pets": specs or PETS}).policy


def by_id(policy):
    return {o["id"]: o for o in policy["operations"]}


def test_policy_is_schema_valid_and_carries_its_own_hash(write_access):
    policy = compiled(write_access)
    assert not list(validator("policy").iter_errors(policy))
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", policy["policy_id"])


def test_regexes_follow_parameter_schemas_and_never_cross_a_slash(write_access):
    ops = by_id(compiled(write_access))
    get_pet = re.compile(ops["pets.getPet"]["regex"])
    assert get_pet.match("/pets-api/pets/42")
    assert not get_pet.match("/pets-api/pets/abc")
    assert not get_pet.match("/pets-api/pets/4/2")
    photos = re.compile(ops["pets.photos"]["regex"])
    assert photos.match("/pets-api/pets/1/photos/thumb").group("p2") == "thumb"
    assert not photos.match("/pets-api/pets/1/photos/other")


def test_literal_paths_come_before_templates(write_access):
    order = [o["id"] for o in compiled(write_access)["operations"]]
    assert order.index("pets.myPets") < order.index("pets.getPet")


def test_first_matching_entry_is_the_operation(write_access):
    """The order is the contract: scanning for the first regex+method match picks the right one."""
    policy = compiled(write_access)

    def route(method, path):
        return next(o["id"] for o in policy["operations"] if o["method"] == method and re.match(o["regex"], path))

    assert route("GET", "/pets-api/pets/mine") == "pets.myPets"
    assert route("GET", "/pets-api/pets/7") == "pets.getPet"


def test_roles_clients_limits_and_overrides(write_access):
    policy = compiled(write_access)
    ops = by_id(policy)
    assert ops["pets.listPets"]["roles"] == ["admin", "reader"]
    assert ops["pets.createPet"]["roles"] == ["admin"]
    assert ops["pets.createPet"]["body"] == {
        "allowed": True, "required": True, "content_types": ["application/json"], "max_bytes": 2048, "schema": None,
    }  # fmt: skip
    assert ops["pets.createPet"]["rate_limit"] == {"per_second": 2, "burst": 0}
    assert ops["pets.listPets"]["body"]["allowed"] is False
    assert [c["roles"] for c in policy["clients"]] == [["reader"], ["admin", "reader"]]
    assert {r["name"]: r["rate_limit"] for r in policy["roles"]}["admin"] == {"per_second": 5, "burst": 0}


def test_unnamed_operation_gets_a_stable_generated_id(write_access):
    ops = by_id(compiled(write_access))
    generated = ops["pets.delete_pets_by_petId"]
    assert generated["operation_id_generated"] is True
    assert generated_operation_id("GET", "/a/{b}/c") == "get_a_by_b_c"


def test_deprecation_follows_defaults_and_sunset(write_access):
    ops = by_id(compiled(write_access, defaults={"deprecated": "deny"}))
    entry = ops["pets.delete_pets_by_petId"]
    assert (entry["deprecated"], entry["sunset"], entry["deprecation_action"]) == (True, "2026-01-01", "deny")
    assert ops["pets.getPet"]["deprecation_action"] == "allow"


def test_output_is_deterministic_whatever_the_input_order(write_access, tmp_path):
    first = compiled(write_access)
    shuffled = list(PETS.operations)
    random.Random(7).shuffle(shuffled)
    second = compiled(write_access, specs=spec(*shuffled))
    assert first == second
    write_policy(first, tmp_path / "a.json")
    write_policy(second, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    changed = compiled(write_access, defaults={"max_body_bytes": 1})
    assert changed["policy_id"] != first["policy_id"]


def conflicts(write_access, specs=None, **changes):
    with pytest.raises(PolicyConflictError) as exc:
        compiled(write_access, specs=specs, **changes)
    assert exc.value.exit_code == ExitCode.FAILED
    return exc.value.problems


def test_ambiguous_templates_are_an_error_naming_both_places(write_access):
    problems = conflicts(
        write_access,
        specs=spec(
            op("GET", "/pets/{id}", "a", params=[("id", {})]), op("GET", "/pets/{name}", "b", params=[("name", {})])
        ),
        roles=[],
        clients=[],
        operations=[],
    )
    assert len(problems) == 1
    assert "GET /pets-api/pets/{id}" in problems[0] and "GET /pets-api/pets/{name}" in problems[0]
    assert "specs/api.yaml:/paths/~1pets~1{id}/get" in problems[0]


def test_templates_that_cannot_meet_are_not_ambiguous(write_access):
    specs = spec(
        op("GET", "/items/{id}", "byId", params=[("id", INT)]),
        op("GET", "/items/{kind}", "byKind", params=[("kind", {"enum": ["new", "old"]})]),
        op("PUT", "/items/{name}", "put", params=[("name", {})]),
    )
    policy = compile_policy(write_access(access_doc(roles=[], clients=[], operations=[])), {"pets": specs}).policy
    assert len(policy["operations"]) == 3


def test_duplicate_operation_ids(write_access):
    specs = spec(op("GET", "/a", "same"), op("GET", "/b", "same"))
    problems = conflicts(write_access, specs=specs, roles=[], clients=[], operations=[])
    assert len(problems) == 1
    assert problems[0].startswith("duplicate operationId pets.same: GET /pets-api/a (")
    assert "api.yaml:/paths/~1a/get) and GET /pets-api/b (" in problems[0]


@pytest.mark.parametrize(
    ("allow", "expected"),
    [
        ({"operation": "nope"}, "operation nope matches no operation"),
        ({"tag": "ghost"}, "tag ghost matches no operation"),
        ({"method": "PATCH", "path": "/pets/**"}, "PATCH /pets/** matches no operation"),
        ({"api": "other", "operation": "listPets"}, "names unknown api 'other'"),
    ],
)
def test_roles_naming_unknown_operations(write_access, allow, expected):
    problems = conflicts(write_access, roles=[{"name": "r", "allow": [allow]}], clients=[])
    assert problems == [f"access.yml: /roles/0/allow/0 (role r): {expected}"]


def test_clients_naming_unknown_roles_and_unknown_overrides(write_access):
    problems = conflicts(
        write_access,
        clients=[{"name": "eve", "subject": "CN=eve", "roles": ["root"]}],
        operations=[{"api": "pets", "operation": "nothing", "max_body_bytes": 1}],
    )
    assert "access.yml: /clients/0/roles: client eve names unknown role 'root'" in problems
    assert "access.yml: operations: pets.nothing names no operation of api pets" in problems


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"colour": "blue"}, "/: Additional properties are not allowed ('colour' was unexpected)"),
        ({"version": "1"}, "/version: 1 was expected"),
        ({"apis": [{"name": "pets", "spec": "x.yaml"}]}, "/apis/0: 'upstream' is a required property"),
        (
            {"clients": [{"name": "Bad Name", "subject": "CN=x", "roles": []}]},
            "/clients/0/name: 'Bad Name' does not match",
        ),
    ],
)
def test_access_file_errors_are_one_line_naming_file_and_field(write_access, change, fragment):
    with pytest.raises(BadInputError) as exc:
        write_access(access_doc(**change))
    assert exc.value.exit_code == ExitCode.BAD_INPUT
    assert "access.yml: " in exc.value.message and fragment in exc.value.message
    assert "\n" not in exc.value.message


def test_access_file_not_yaml(tmp_path):
    path = tmp_path / "access.yml"
    path.write_text("apis: [unclosed\n")
    with pytest.raises(BadInputError, match=r"access.yml: line 2: not valid YAML"):
        load_access(path)


def test_written_policy_is_pretty_sorted_json(write_access, tmp_path):
    policy = compiled(write_access)
    write_policy(policy, tmp_path / "out" / "policy.json")
    assert json.loads((tmp_path / "out" / "policy.json").read_text()) == policy


def test_paths_the_gateway_refuses_as_written_are_warnings_naming_the_operation(write_access):
    odd = spec(
        *PETS.operations,
        op("PUT", "/files/<upload_url>", "upload"),
        op("GET", "/files/./latest", "latest"),
        op("GET", "/files/{name}", "getFile", params=[("name", {"type": "string"})]),
    )
    result = compile_policy(write_access(access_doc()), {"pets": odd})
    assert len(result.warnings) == 2, result.warnings
    placeholder, dots = sorted(result.warnings, key=lambda w: "PUT" not in w)
    assert placeholder.startswith(
        "/site/specs/api.yaml:/paths/~1files~1<upload_url>/put: PUT /pets-api/files/<upload_url>:"
    )
    assert "non_canonical_path: '<' is not plain path text" in placeholder
    assert "e.g. /pets-api/files/%3Cupload_url%3E" in placeholder
    assert "write it {upload_url}" in placeholder
    assert dots.startswith("/site/specs/api.yaml:/paths/~1files~1.~1latest/get: GET /pets-api/files/./latest:")
    assert "no request can reach it" in dots
