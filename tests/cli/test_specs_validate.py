"""``airgapctl specs validate``: one line per spec, every problem on stderr, exit codes, --json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from airgapctl.errors import ExitCode

SPECS = Path(__file__).resolve().parent.parent / "fixtures" / "specs"
PETSTORE = str(SPECS / "petstore30" / "openapi.yaml")
INVALID = str(SPECS / "bad" / "schema_invalid.yaml")
NOT_REQUIRED = "/paths/~1items~1{itemId}/get/parameters/0/required: false is not allowed here; expected one of [true]"
OK_LINE = re.compile(r"^ok (\S+) \(openapi (\S+), (\d+) operations?, sha256 [0-9a-f]{8}…\)$")


@pytest.fixture(autouse=True)
def private_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def test_valid_specs_print_one_ok_line_each(cli, tmp_path):
    files = [PETSTORE, str(SPECS / "inventory31.yaml"), str(SPECS / "swagger20.yaml")]
    result = cli("specs", "validate", *files)
    assert (result.exit_code, result.stderr) == (ExitCode.OK, "")
    lines = [OK_LINE.match(line) for line in result.stdout.splitlines()]
    assert [(m[1], m[2], m[3]) for m in lines] == [
        (PETSTORE, "3.0.3", "10"),
        (files[1], "3.1.0", "2"),
        (files[2], "2.0", "4"),
    ]
    assert list((tmp_path / "xdg" / "airgapctl" / "specs").iterdir())  # the default cache was used


def test_problems_go_to_stderr_one_per_line_then_exit_1(cli):
    result = cli("specs", "validate", PETSTORE, INVALID)
    assert result.exit_code == ExitCode.FAILED == 1
    assert OK_LINE.match(result.stdout.strip())
    assert result.stderr.splitlines() == [
        f"{INVALID}:{NOT_REQUIRED}",
        f"{INVALID}:/paths/~1items~1{{itemId}}/delete/responses: expected object, got array",
        "airgapctl: error: 1 of 2 specs is invalid (2 problems)",
        "hint: each problem is listed above as FILE:POINTER: message",
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "remote_ref.yaml",
            ":/paths/~1items/get/parameters/0/$ref: $ref 'https://schemas.example.com/params.yaml#/Limit' is remote",
        ),
        ("missing_ref_file.yaml", ":/paths/~1items/$ref: $ref 'paths/not-there.yaml#/items': no such file"),
        ("missing_pointer.yaml", ":/paths/~1items/get/parameters/0/$ref: $ref 'parts/parameters.yaml#/Offset'"),
        ("no_paths.yaml", ":/: no paths: the spec declares no operation"),
        ("malformed.yaml", ":/: malformed YAML at line 11, column 8"),
    ],
)
def test_load_errors_name_file_and_pointer_without_traceback(cli, name, expected):
    path = str(SPECS / "bad" / name)
    result = cli("specs", "validate", path)
    assert result.exit_code == ExitCode.FAILED
    assert result.stderr.splitlines()[0].startswith(path + expected)
    assert f"airgapctl: error: spec {path} is invalid" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_file_is_bad_input_and_nothing_is_validated(cli):
    result = cli("specs", "validate", PETSTORE, "no/such/spec.yaml")
    assert result.exit_code == ExitCode.BAD_INPUT == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == "airgapctl: error: spec file no/such/spec.yaml does not exist"


def test_json_is_one_document_with_every_spec(cli):
    result = cli("specs", "validate", "--json", PETSTORE, INVALID)
    assert result.exit_code == ExitCode.FAILED
    document = json.loads(result.stdout)
    assert document["status"] == "failed"
    good, bad = document["data"]["specs"]
    assert (good["path"], good["valid"], good["operations"], good["openapi_version"]) == (PETSTORE, True, 10, "3.0.3")
    assert len(good["sha256"]) == 64 and good["files"][0] == PETSTORE
    assert (bad["valid"], bad["operations"], len(bad["issues"])) == (False, None, 2)
    assert bad["issues"][1] == {
        "file": INVALID,
        "pointer": "/paths/~1items~1{itemId}/delete/responses",
        "message": "expected object, got array",
    }
    assert result.stderr.startswith("airgapctl: error: 1 of 2 specs is invalid")


def test_json_for_valid_specs_exits_0(cli):
    result = cli("specs", "validate", PETSTORE, "--json")
    assert result.exit_code == ExitCode.OK
    assert json.loads(result.stdout)["status"] == "ok"


def test_cache_options(cli, tmp_path):
    assert cli("specs", "validate", "--no-cache", PETSTORE).exit_code == ExitCode.OK
    assert not (tmp_path / "xdg").exists()
    assert cli("specs", "validate", "--cache-dir", str(tmp_path / "mine"), PETSTORE).exit_code == ExitCode.OK
    assert len(list((tmp_path / "mine").iterdir())) == 1
    assert not (tmp_path / "xdg").exists()


def test_the_group_explains_itself(cli):
    result = cli("specs", "--help")
    assert result.exit_code == 0
    assert "Validate preloaded OpenAPI definitions" in result.stdout
    assert "validate" in result.stdout.split("Commands:", 1)[1]
    assert cli("specs", "validate", "--help").exit_code == 0
