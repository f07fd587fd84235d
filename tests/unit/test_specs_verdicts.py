"""Verdicts remembered by spec tree: a warm run reads and hashes the files and parses nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from airgapctl.errors import SpecInvalidError
from airgapctl.specs import documents, loader, validate
from airgapctl.specs.validate import validate_spec

SPECS = Path(__file__).resolve().parent.parent / "fixtures" / "specs"
PETSTORE = SPECS / "petstore30"
CORPUS = SPECS / "corpus"


@pytest.fixture
def nothing_parsed(monkeypatch):
    """Make any parse, load or check fail: what a warm run must not need."""

    def refuse(*args, **kwargs):
        raise AssertionError("a warm run parsed or checked the spec")

    for module, name in ((documents, "parse_document"), (loader, "read_sources"), (validate, "read_sources")):
        monkeypatch.setattr(module, name, refuse)
    monkeypatch.setattr(validate, "check_sources", refuse)
    monkeypatch.setattr("airgapctl.specs.refs.parse_document", refuse)


def test_a_warm_run_gives_the_same_spec_without_parsing(tmp_path, monkeypatch):
    cold = validate_spec(PETSTORE / "openapi.yaml", tmp_path / "cache")
    with monkeypatch.context() as patch:
        for name in ("read_sources", "check_sources"):
            patch.setattr(validate, name, lambda *a: pytest.fail("not from the cache"))
        warm = validate_spec(PETSTORE / "openapi.yaml", tmp_path / "cache")
    assert warm == cold  # operations, parameters and their inlined schemas, files, digest


def test_warm_runs_parse_nothing(tmp_path, request):
    cache = tmp_path / "cache"
    cold = validate_spec(PETSTORE / "openapi.yaml", cache)
    request.getfixturevalue("nothing_parsed")
    assert validate_spec(PETSTORE / "openapi.yaml", cache) == cold


def test_a_copied_tree_hits_and_shows_its_own_paths(tmp_path, request):
    cache = tmp_path / "cache"
    validate_spec(PETSTORE / "openapi.yaml", cache)
    shutil.copytree(PETSTORE, tmp_path / "copy")
    request.getfixturevalue("nothing_parsed")
    warm = validate_spec(tmp_path / "copy" / "openapi.yaml", cache)
    assert warm.files[0] == str(tmp_path / "copy" / "openapi.yaml")
    assert all(file.startswith(str(tmp_path / "copy")) for file in warm.files)
    assert {op.file for op in warm.operations} <= set(warm.files)


def test_a_changed_referenced_file_is_a_miss(tmp_path):
    shutil.copytree(PETSTORE, tmp_path / "spec")
    cache = tmp_path / "cache"
    validate_spec(tmp_path / "spec" / "openapi.yaml", cache)
    schemas = tmp_path / "spec" / "components" / "schemas.yaml"
    schemas.write_text(schemas.read_text() + "# edited\n")
    validate_spec(tmp_path / "spec" / "openapi.yaml", cache)
    assert len(list(cache.iterdir())) == 2  # one entry per tree the root was read with
    (schemas.parent / "common.yaml").unlink()
    with pytest.raises(SpecInvalidError, match="no such file"):  # a missing file: checked again
        validate_spec(tmp_path / "spec" / "openapi.yaml", cache)


def test_remembered_problems_keep_their_kind_fix_and_place(tmp_path, request):
    root = shutil.copytree(CORPUS / "operation_refs_30", tmp_path / "spec") / "openapi.yaml"
    cache = tmp_path / "cache"
    with pytest.raises(SpecInvalidError) as cold:
        validate_spec(root, cache)
    request.getfixturevalue("nothing_parsed")
    with pytest.raises(SpecInvalidError) as warm:
        validate_spec(root, cache)
    fields = [(i.file, i.pointer, i.message, i.kind, i.fix, i.position) for i in warm.value.issues]
    assert fields == [(i.file, i.pointer, i.message, i.kind, i.fix, i.position) for i in cold.value.issues]
    assert warm.value.issues[0].kind == "ref-not-allowed" and warm.value.issues[0].fix


def test_warnings_are_remembered(tmp_path, request):
    cache = tmp_path / "cache"
    cold = validate_spec(CORPUS / "webhooks_only_31.yaml", cache)
    request.getfixturevalue("nothing_parsed")
    warm = validate_spec(CORPUS / "webhooks_only_31.yaml", cache)
    assert warm.warnings == cold.warnings and warm.warnings[0].kind == "no-operations"
    assert warm.has_paths is False


def test_an_entry_of_another_shape_is_a_miss(tmp_path):
    cache = tmp_path / "cache"
    validate_spec(PETSTORE / "openapi.yaml", cache)
    (entry,) = cache.iterdir()
    stored = json.loads(entry.read_text())
    stored["spec"]["operations"][0].pop("method")
    entry.write_text(json.dumps(stored))
    assert len(validate_spec(PETSTORE / "openapi.yaml", cache).operations) == 10
