"""Role grants by path glob: ``*`` within a segment, a ``/**`` segment for zero or more segments."""

from __future__ import annotations

import pytest

from airgapctl.specs.compile import compile_files
from airgapctl.specs.selectors import glob_regex
from airgapctl.specs.validate import validate_spec


@pytest.mark.parametrize(
    ("glob", "matches", "misses"),
    [
        ("/pets/**", ["/pets", "/pets/1", "/pets/1/x", "/pets/{petId}/photo"], ["/petsx", "/pet", "/owners/pets"]),
        ("/**", ["/", "/pets", "/a/b/c"], []),
        ("/a/**/b", ["/a/b", "/a/x/b", "/a/x/y/b"], ["/ab", "/a/xb", "/a/b/c"]),
        ("/pets/*", ["/pets/1", "/pets/{petId}"], ["/pets", "/pets/1/x"]),
        ("/pets/*/photo", ["/pets/{petId}/photo"], ["/pets/photo", "/pets/1/2/photo"]),
        ("/pets", ["/pets"], ["/pets/1", "/petsx"]),
        ("/v1.*/x", ["/v1.2/x"], ["/v1/x", "/v102/x"]),
    ],
)
def test_path_globs(glob, matches, misses):
    regex = glob_regex(glob)
    assert [p for p in matches if not regex.match(p)] == []
    assert [p for p in misses if regex.match(p)] == []


def test_lab_clerk_may_create_pets(repo):
    policy = compile_files(repo / "examples" / "lab" / "access.yml", validate_spec).policy
    roles = {(op["method"], op["gateway_path"]): op["roles"] for op in policy["operations"]}
    assert "clerk" in roles["POST", "/petstore/pets"]
    assert "clerk" in roles["GET", "/petstore/pets/{petId}"]
    assert "clerk" not in roles["GET", "/petstore/nodes/search"]
