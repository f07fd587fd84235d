"""What `specs validate` and `specs compile` print about large multi-file specs and bad grants:
the real defect first, identical problems grouped, at most a screenful; --json lists every one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from airgapctl.errors import ExitCode
from tests.generated_specs import defect_location, multi_file_spec

SCREENFUL = 24
CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "specs" / "corpus"


@pytest.fixture(autouse=True)
def private_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def test_a_600_operation_multi_file_spec_with_one_defect_prints_that_defect_first(cli, tmp_path):
    root = multi_file_spec(tmp_path / "spec", 600, defect="response-without-description")
    result = cli("specs", "validate", str(root))
    assert result.exit_code == ExitCode.FAILED
    lines = result.stderr.splitlines()
    file, pointer = defect_location(tmp_path / "spec", "path-items", "response-without-description")
    fix = "write a description (it may be empty: description: '')"
    assert lines[0] == f"{file}:{pointer}: 'description' is a required property; fix: {fix}"
    assert len(lines) <= SCREENFUL, lines
    assert lines[-2] == f"airgapctl: error: spec {root} is invalid (1 problem)"


def test_without_the_defect_it_is_valid_path_parameters_declared_in_referenced_files_included(cli, tmp_path):
    root = multi_file_spec(tmp_path / "spec", 600)
    result = cli("specs", "validate", str(root))
    assert (result.exit_code, result.stderr) == (ExitCode.OK, "")
    assert "600 operations" in result.stdout


def test_a_ref_on_every_operation_is_one_group_and_the_defect_still_shows(cli, tmp_path):
    root = multi_file_spec(tmp_path / "spec", 600, layout="operation-refs", defect="response-without-description")
    result = cli("specs", "validate", str(root))
    assert result.exit_code == ExitCode.FAILED
    lines = result.stderr.splitlines()
    assert len(lines) <= SCREENFUL, lines
    assert lines[0] == (
        f"{root}:/paths/~1svc0~1r0/get/$ref: OpenAPI 3.0 does not allow $ref on an Operation Object;"
        " fix: write the operation in place, or $ref the whole path item instead ('/path': {$ref: ...})"
    )
    assert lines[1].startswith("  … and 599 more like this: /paths/~1svc0~1r0/post/$ref, ")
    file, pointer = defect_location(tmp_path / "spec", "operation-refs", "response-without-description")
    assert lines[2].startswith(f"{file}:{pointer}: 'description' is a required property")
    assert lines[3] == f"{root}: 601 problems ($ref where OpenAPI allows none: 600, OpenAPI structure: 1)"
    for cascade in ("does not match any of the regexes", "'responses' is a required property", "path parameter"):
        assert cascade not in result.stderr

    document = json.loads(cli("specs", "validate", "--json", str(root)).stdout)
    (spec,) = document["data"]["specs"]
    assert len(spec["issues"]) == 601 and spec["summary"] == {"ref-not-allowed": 600, "structure": 1}
    group = spec["groups"][0]
    assert (group["kind"], group["count"], len(group["locations"])) == ("ref-not-allowed", 600, 600)
    assert spec["issues"][0]["message"].endswith("; fix: " + group["fix"])


def test_warnings_for_a_spec_without_operations(cli):
    result = cli("specs", "validate", str(CORPUS / "empty_paths.yaml"))
    assert result.exit_code == ExitCode.OK
    assert result.stderr == (
        f"warning: {CORPUS / 'empty_paths.yaml'}:/paths: the spec declares no operation: the gateway serves nothing"
        " from it\n"
    )
    document = json.loads(cli("specs", "validate", "--json", str(CORPUS / "empty_paths.yaml")).stdout)
    assert document["data"]["specs"][0]["warnings"][0]["pointer"] == "/paths"


# --- specs compile -------------------------------------------------------------------------------

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "a", "version": "1"},
    "paths": {"/a": {"get": {"operationId": "a", "responses": {"200": {"description": "ok"}}}}},
}


def _compile(cli, tmp_path: Path, apis: list[dict], roles: list[dict], *options: str):
    access = {
        "version": 1,
        "site": "lab",
        "apis": [{"upstream": {"url": "http://127.0.0.1:9"}, **api} for api in apis],
        "roles": roles,
        "clients": [{"name": "c", "subject": "CN=c", "roles": [r["name"] for r in roles]}],
    }
    (tmp_path / "access.yml").write_text(yaml.safe_dump(access))
    return cli(
        "specs", "compile", "--access", str(tmp_path / "access.yml"), "--out", str(tmp_path / "p.json"), *options
    )


def test_compile_prints_the_problems_of_every_invalid_spec(cli, tmp_path):
    (tmp_path / "one.yaml").write_text((CORPUS / "default_type_30.yaml").read_text())
    (tmp_path / "two.yaml").write_text((CORPUS / "no_paths_30.yaml").read_text())
    apis = [{"name": "one", "spec": "one.yaml"}, {"name": "two", "spec": "two.yaml"}]
    result = _compile(cli, tmp_path, apis, [{"name": "r", "allow": [{"path": "/**"}]}])
    assert result.exit_code == ExitCode.FAILED
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'one.yaml'}:/paths/~1records/get/parameters/0/schema/default: default")
    assert lines[1].startswith(f"{tmp_path / 'two.yaml'}:/: no paths:")
    assert lines[2] == "airgapctl: error: 2 of 2 specs are invalid (2 problems)"
    assert not (tmp_path / "p.json").exists()

    document = json.loads(_compile(cli, tmp_path, apis, [{"name": "r", "allow": [{"path": "/**"}]}], "--json").stdout)
    assert document["status"] == "failed"
    assert [spec["summary"] for spec in document["data"]["specs"]] == [{"default-type": 1}, {"no-paths": 1}]


def test_an_unknown_api_in_a_grant_is_the_error_itself_with_its_place_and_the_fix(cli, tmp_path):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(SPEC))
    roles = [{"name": "r", "allow": [{"api": "aa", "path": "/**"}]}]
    result = _compile(cli, tmp_path, [{"name": "a", "spec": "a.yaml"}], roles)
    assert result.exit_code == ExitCode.FAILED
    assert result.stderr.splitlines() == [
        "airgapctl: error: access.yml: /roles/0/allow/0 (role r): names unknown api 'aa'",
        "hint: did you mean 'a'? access.yml defines the apis: a",
    ]
    document = json.loads(_compile(cli, tmp_path, [{"name": "a", "spec": "a.yaml"}], roles, "--json").stdout)
    (problem,) = document["data"]["problems"]
    assert (problem["kind"], problem["fix"]) == ("unknown-name", "did you mean 'a'? access.yml defines the apis: a")


def test_several_policy_problems_are_listed_and_counted_per_kind(cli, tmp_path):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(SPEC))
    roles = [{"name": "r", "allow": [{"api": "b", "path": "/**"}, {"operation": "nope"}]}]
    result = _compile(cli, tmp_path, [{"name": "a", "spec": "a.yaml"}], roles)
    lines = result.stderr.splitlines()
    assert (
        lines[0] == "access.yml: /roles/0/allow/0 (role r): names unknown api 'b'; fix: access.yml defines the apis: a"
    )
    assert lines[1].startswith("access.yml: /roles/0/allow/1 (role r): operation nope matches no operation; fix: ")
    assert lines[2].startswith(
        "airgapctl: error: the policy cannot be compiled: 2 problems (unknown name: 1, grant that matches nothing: 1)"
    )


@pytest.mark.parametrize(
    ("spec", "reason", "warning"),
    [
        ("webhooks_only_31.yaml", "the spec declares no paths; the gateway serves paths", "declares no paths"),
        (
            "empty_paths.yaml",
            "its spec declares no operation (its paths are empty); the gateway serves nothing from it",
            "declares no operation",
        ),
    ],
)
def test_a_spec_without_operations_compiles_until_a_grant_asks_for_one(cli, tmp_path, spec, reason, warning):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(SPEC))
    (tmp_path / "hooks.yaml").write_text((CORPUS / spec).read_text())
    apis = [{"name": "a", "spec": "a.yaml"}, {"name": "hooks", "spec": "hooks.yaml"}]
    granted = _compile(cli, tmp_path, apis, [{"name": "r", "allow": [{"api": "hooks", "path": "/**"}]}])
    assert granted.exit_code == ExitCode.FAILED
    assert (
        granted.stderr.splitlines()[0]
        == f"airgapctl: error: access.yml: /roles/0/allow/0 (role r): api 'hooks': {reason}"
    )
    fine = _compile(cli, tmp_path, apis, [{"name": "r", "allow": [{"path": "/**"}]}])
    assert fine.exit_code == ExitCode.OK, fine.stderr
    assert fine.stderr == f"warning: api hooks: its spec {warning}; the gateway serves nothing from it\n"
