"""bundle.yml problems are one line naming the field, exit code 2, before anything is downloaded."""

from __future__ import annotations

import pytest
import yaml

from airgapctl.bundle_build.bundle_file import load_bundle_file, sha256_file
from airgapctl.errors import BadInputError, ExitCode

BASE = {"version": 1, "name": "site-a", "release": "1", "sequence": 3}


def write(tmp_path, **changes):
    path = tmp_path / "bundle.yml"
    path.write_text(yaml.safe_dump({**BASE, **changes}))
    return path


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"colour": "red"}, "/: Additional properties are not allowed ('colour' was unexpected)"),
        ({"sequence": "three"}, "/sequence: 'three' is not of type 'integer'"),
        ({"apt": "nginx"}, "/apt: 'nginx' is not of type 'array'"),
        ({"files": [{"src": "x", "mode": "0644"}]}, "/files/0: Additional properties are not allowed"),
    ],
)
def test_schema_errors_name_the_field(tmp_path, changes, fragment):
    with pytest.raises(BadInputError) as exc:
        load_bundle_file(write(tmp_path, **changes))
    assert exc.value.exit_code == ExitCode.BAD_INPUT
    assert fragment in exc.value.message and "\n" not in exc.value.message


def test_missing_files_name_the_field(tmp_path):
    with pytest.raises(BadInputError, match=r"files\[0\]\.src: nope.deb does not exist"):
        load_bundle_file(write(tmp_path, files=[{"src": "nope.deb"}]))
    with pytest.raises(BadInputError, match=r"specs\[0\]: specs/ does not exist"):
        load_bundle_file(write(tmp_path, specs=["specs/"]))


def test_supplied_file_must_match_its_digest(tmp_path):
    supplied = tmp_path / "fluent-package.deb"
    supplied.write_bytes(b"not the vetted one")
    with pytest.raises(BadInputError, match=r"files\[0\]\.sha256: fluent-package.deb has sha256 .* expected 0{16}"):
        load_bundle_file(write(tmp_path, files=[{"src": supplied.name, "sha256": "0" * 64}]))
    ok = load_bundle_file(write(tmp_path, files=[{"src": supplied.name, "sha256": sha256_file(supplied)}]))
    assert ok.files[0].dest == "fluent-package.deb"


def test_defaults(tmp_path):
    spec = load_bundle_file(write(tmp_path))
    assert (spec.baseline, spec.python, spec.airgapctl_wheels, spec.toolkit) == ("lab", "3.11", True, True)
