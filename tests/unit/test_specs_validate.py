"""Validation: meta-schema issues with file and pointer, the rules beyond it, the verdict cache."""

from __future__ import annotations

import copy
import json
import random
import shutil
import stat
from pathlib import Path

import pytest

from airgapctl.errors import SpecInvalidError
from airgapctl.specs import validate as validate_module
from airgapctl.specs.cache import default_cache_dir
from airgapctl.specs.documents import parse_document
from airgapctl.specs.metaschema import meta_schema
from airgapctl.specs.validate import summary_error, validate_spec, validate_specs

SPECS = Path(__file__).resolve().parent.parent / "fixtures" / "specs"
PETSTORE = SPECS / "petstore30" / "openapi.yaml"
BAD = SPECS / "bad"
VALID = [PETSTORE, SPECS / "inventory31.yaml", SPECS / "swagger20.yaml", SPECS / "circular" / "openapi.yaml"]


@pytest.fixture(autouse=True)
def private_cache_home(tmp_path, monkeypatch):
    """Never touch the real ~/.cache: the default cache directory moves under tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def issues_of(path: Path, **options) -> list[str]:
    with pytest.raises(SpecInvalidError) as caught:
        validate_spec(path, use_cache=False, **options)
    return [str(issue) for issue in caught.value.issues]


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.parent.name + "/" + p.name)
def test_valid_specs_return_the_loaded_spec(path, tmp_path):
    spec = validate_spec(path, cache_dir=tmp_path)
    assert spec.operations
    assert spec.path == str(path)


def test_schema_violations_name_file_pointer_and_what_is_wrong():
    path = BAD / "schema_invalid.yaml"
    not_required = "false is not allowed here; expected one of [true]"
    assert issues_of(path) == [
        f"{path}:/paths/~1items~1{{itemId}}/get/parameters/0/required: {not_required}",
        f"{path}:/paths/~1items~1{{itemId}}/delete/responses: expected object, got array",
    ]


def test_objects_in_referenced_files_are_checked_where_they_are_written(tmp_path):
    shutil.copytree(PETSTORE.parent, tmp_path / "spec")
    pets = tmp_path / "spec" / "paths" / "pets.yaml"
    pets.write_text(
        pets.read_text().replace(
            "    - name: petId\n      in: path\n      required: true",
            "    - name: petId\n      in: path\n      required: false",
            1,
        )
    )
    (issue,) = issues_of(tmp_path / "spec" / "openapi.yaml")
    assert issue == f"{pets}:/item/parameters/0/required: false is not allowed here; expected one of [true]"


def test_rules_beyond_the_meta_schema():
    path = BAD / "rules.yaml"
    items, things = "/paths/~1items~1{itemId}/get", "/paths/~1things~1{thingId}/get"
    assert set(issues_of(path)) == {
        f"{path}:/tags: the items must be unique",
        f"{path}:/tags/1/name: duplicate tag name 'items'",
        f"{path}:{things}/parameters/3: duplicate parameter 'q' in query",
        f"{path}:{items}: path parameter 'itemId' of GET /items/{{itemId}} is not declared",
        f"{path}:{things}: path parameter 'extra' is declared but /things/{{thingId}} has no {{extra}}",
        f"{path}:{items}/x-sunset: x-sunset must be an ISO date such as 2030-01-31, not 'next spring'",
        f"{path}:{things}/operationId: operationId 'getItem' is already used by GET /items/{{itemId}}",
    }


def test_one_error_carries_reference_and_schema_problems_together(tmp_path):
    text = (
        (BAD / "schema_invalid.yaml")
        .read_text()
        .replace(
            "          schema:\n            type: string\n      responses: []",
            "          schema:\n            $ref: https://example.com/id.yaml\n      responses: []",
        )
    )
    path = tmp_path / "both.yaml"
    path.write_text(text)
    with pytest.raises(SpecInvalidError) as caught:
        validate_spec(path, use_cache=False)
    assert caught.value.message == f"spec {path} is invalid (3 problems)"
    pointers = [issue.pointer for issue in caught.value.issues]
    assert pointers == [
        "/paths/~1items~1{itemId}/delete/parameters/0/schema/$ref",
        "/paths/~1items~1{itemId}/get/parameters/0/required",
        "/paths/~1items~1{itemId}/delete/responses",
    ]


def test_enum_messages_list_what_every_alternative_accepts(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(
        (BAD / "schema_invalid.yaml")
        .read_text()
        .replace("in: path\n          required: true", "in: body\n          required: true")
    )
    expected = '"body" is not allowed here; expected one of ["path", "query", "header", "cookie"]'
    assert f"{path}:/paths/~1items~1{{itemId}}/delete/parameters/0/in: {expected}" in issues_of(path)


# --- the verdict cache -----------------------------------------------------------------------------


def test_verdicts_are_cached_privately_and_reused(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    validate_spec(PETSTORE, cache_dir=cache)
    (entry,) = cache.iterdir()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert json.loads(entry.read_text())["valid"] is True

    def no_checks(sources):
        raise AssertionError("a cached verdict must not be checked again")

    monkeypatch.setattr(validate_module, "check_sources", no_checks)
    assert len(validate_spec(PETSTORE, cache_dir=cache).operations) == 10


def test_cached_issues_are_shown_with_the_paths_given_now(tmp_path, monkeypatch):
    shutil.copytree(BAD, tmp_path / "bad")
    cache = tmp_path / "cache"
    first = issues_of_cached(tmp_path / "bad" / "schema_invalid.yaml", cache)
    monkeypatch.chdir(tmp_path / "bad")
    monkeypatch.setattr(validate_module, "check_sources", lambda sources: pytest.fail("not from the cache"))
    again = issues_of_cached(Path("schema_invalid.yaml"), cache)
    assert [issue.replace(f"{tmp_path}/bad/", "") for issue in first] == again


def issues_of_cached(path: Path, cache: Path) -> list[str]:
    with pytest.raises(SpecInvalidError) as caught:
        validate_spec(path, cache_dir=cache)
    return [str(issue) for issue in caught.value.issues]


def test_a_change_in_any_referenced_file_is_validated_again(tmp_path):
    shutil.copytree(PETSTORE.parent, tmp_path / "spec")
    cache = tmp_path / "cache"
    validate_spec(tmp_path / "spec" / "openapi.yaml", cache_dir=cache)
    bodies = tmp_path / "spec" / "components" / "bodies.yaml"
    bodies.write_text(bodies.read_text().replace("required: true", "required: maybe"))
    with pytest.raises(SpecInvalidError) as caught:
        validate_spec(tmp_path / "spec" / "openapi.yaml", cache_dir=cache)
    assert [(i.file, i.pointer) for i in caught.value.issues] == [(str(bodies), "/NewPet/required")]
    assert len(list(cache.iterdir())) == 2


def test_no_cache_writes_nothing_and_broken_caches_are_ignored(tmp_path):
    validate_spec(PETSTORE, cache_dir=tmp_path / "unused", use_cache=False)
    assert not (tmp_path / "unused").exists()
    cache = tmp_path / "cache"
    validate_spec(PETSTORE, cache_dir=cache)
    (entry,) = cache.iterdir()
    entry.write_text("{not json")
    assert validate_spec(PETSTORE, cache_dir=cache).operations
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert validate_spec(PETSTORE, cache_dir=blocked / "cache").operations  # unwritable: validated anyway


def test_default_cache_dir_follows_xdg(tmp_path, monkeypatch):
    assert default_cache_dir() == tmp_path / "xdg" / "airgapctl" / "specs"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "airgapctl" / "specs"
    validate_spec(PETSTORE)
    assert len(list((tmp_path / "home" / ".cache" / "airgapctl" / "specs").iterdir())) == 1


# --- several specs at once -------------------------------------------------------------------------


def test_validate_specs_reports_each_and_summarises(tmp_path):
    results = validate_specs([PETSTORE, BAD / "schema_invalid.yaml", BAD / "rules.yaml"], cache_dir=tmp_path)
    assert [result.spec is not None for result in results] == [True, False, False]
    error = summary_error(results)
    assert error is not None
    assert error.message == "2 of 3 specs are invalid (9 problems)"
    assert summary_error(results[:1]) is None


# --- the compiled meta-schema check agrees with jsonschema -----------------------------------------

_REPLACEMENTS = [None, True, False, 0, 1, 1.5, "", "x", "path", "query", "body", "/a", [], ["a"], [1, 1], {},
                 {"$ref": "#/a"}, {"type": "string"}, "x-foo", "application/json", "integer"]  # fmt: skip
_KEYS = ["$ref", "x-ext", "foo", "type", "in", "name", "required", "schema", "content", "items", "allOf", "responses",
         "default", "enum", "nullable", "example", "style", "minimum", "format", "const", "webhooks"]  # fmt: skip


def _containers(node, found):
    if isinstance(node, (dict, list)) and node:
        found.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            _containers(child, found)
    return found


def _mutate(document, rng: random.Random):
    document = copy.deepcopy(document)
    for _ in range(rng.randint(1, 3)):
        container = rng.choice(_containers(document, []))
        key = rng.choice(list(container)) if isinstance(container, dict) else rng.randrange(len(container))
        roll = rng.random()
        if roll < 0.3:
            del container[key]
        elif roll < 0.7:
            container[key] = copy.deepcopy(rng.choice(_REPLACEMENTS))
        elif isinstance(container, dict):
            container[rng.choice(_KEYS)] = copy.deepcopy(rng.choice(_REPLACEMENTS))
    return document


@pytest.mark.parametrize(
    ("family", "fixture", "rounds"),  # jsonschema is slow on 3.1's unevaluatedProperties: fewer rounds
    [("2.0", "swagger20.yaml", 150), ("3.0", "petstore30/openapi.yaml", 150), ("3.1", "inventory31.yaml", 60)],
)
def test_the_fast_check_agrees_with_jsonschema_on_mutated_specs(family, fixture, rounds):
    from jsonschema.validators import validator_for

    meta = meta_schema(family)
    assert meta.fast is not None, "the shipped meta-schema must compile, or validation is slow"
    reference = validator_for(meta.schema)(meta.schema)
    document = parse_document((SPECS / fixture).read_bytes(), fixture)
    rng = random.Random(family)
    verdicts = []
    for _ in range(rounds):
        mutated = _mutate(document, rng)
        verdicts.append((meta.fast.is_valid(mutated), reference.is_valid(mutated)))
    assert [fast for fast, _ in verdicts] == [slow for _, slow in verdicts]
    invalid = sum(not slow for _, slow in verdicts)
    assert rounds * 0.1 < invalid < rounds * 0.9  # both kinds were exercised


@pytest.mark.parametrize(
    "path",
    [SPECS / "inventory31.yaml", SPECS / "swagger20.yaml", BAD / "schema_invalid.yaml", BAD / "rules.yaml"],
    ids=lambda p: p.name,
)
def test_same_verdict_as_openapi_spec_validator(path):
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    document, base_uri = read_from_filename(str(path))
    try:
        validate(document, base_uri=base_uri)
        expected_valid = True
    except Exception:  # any of its errors is a "no"
        expected_valid = False
    try:
        validate_spec(path, use_cache=False)
        valid = True
    except SpecInvalidError:
        valid = False
    assert valid is expected_valid
