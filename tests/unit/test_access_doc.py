"""docs/access-file.md: its example is a valid access.yml that compiles, and it names every field."""

from __future__ import annotations

import re

import pytest
import yaml

from airgapctl.schemas import check_document, load_schema
from airgapctl.specs.compile import compile_files
from airgapctl.specs.validate import validate_spec

YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.DOTALL | re.MULTILINE)


def doc_text(repo) -> str:
    return (repo / "docs" / "access-file.md").read_text()


def yaml_blocks(repo) -> list[str]:
    blocks = YAML_BLOCK.findall(doc_text(repo))
    assert blocks, "docs/access-file.md has no ```yaml example"
    return blocks


def property_names(node) -> set[str]:
    """Every key any ``properties`` in the schema declares, at any depth ($defs included)."""
    names: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                names.update(value)
            names |= property_names(value)
    elif isinstance(node, list):
        for item in node:
            names |= property_names(item)
    return names


def test_every_example_is_a_valid_access_file(repo):
    for index, block in enumerate(yaml_blocks(repo)):
        check_document(yaml.safe_load(block), "access", f"docs/access-file.md example {index + 1}")


def test_the_example_compiles_with_the_lab_spec(repo, tmp_path):
    # The example names specs/petstore/openapi.yaml relative to itself, as examples/lab/access.yml does.
    (tmp_path / "specs").symlink_to(repo / "examples" / "lab" / "specs")
    access = tmp_path / "access.yml"
    access.write_text(yaml_blocks(repo)[0])
    result = compile_files(access, lambda path: validate_spec(path, None, use_cache=False))
    assert result.policy["site"] == yaml.safe_load(yaml_blocks(repo)[0])["site"]
    assert result.policy["operations"]


@pytest.mark.parametrize("name", sorted(property_names(load_schema("access"))))
def test_every_field_of_the_schema_is_documented(repo, name):
    assert f"`{name}`" in doc_text(repo), f"docs/access-file.md does not explain `{name}`"


def test_the_example_uses_every_field(repo):
    used: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            used.update(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for block in yaml_blocks(repo):
        walk(yaml.safe_load(block))
    assert property_names(load_schema("access")) - used == set()
