"""Each role's argument_specs and defaults agree: required means no default, paths are typed path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES = sorted(p.parents[1] for p in Path(__file__).parents[2].glob("roles/*/meta/argument_specs.yml"))


def _specs(role: Path) -> tuple[dict, dict]:
    options = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    defaults_file = role / "defaults" / "main.yml"
    defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.is_file() else {}
    return options, defaults


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_required_variables_have_no_default_that_would_satisfy_them(role):
    options, defaults = _specs(role)
    for name, spec in options.items():
        if spec.get("required"):
            assert name not in defaults, f"{role.name}: {name} is required but defaults/main.yml sets it"
            assert "default" not in spec, f"{role.name}: {name} is required and has a default"


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_every_optional_variable_has_the_same_default_in_both_places(role):
    options, defaults = _specs(role)
    for name, spec in options.items():
        if not spec.get("required"):
            assert name in defaults, f"{role.name}: {name} is not in defaults/main.yml"
            assert spec.get("default") == defaults[name], f"{role.name}: {name} defaults differ"
    assert set(defaults) <= set(options), f"{role.name}: undeclared defaults {set(defaults) - set(options)}"


def _looks_like_a_path(name: str, value) -> bool:
    return (isinstance(value, str) and value.startswith("/")) or name.endswith(("_dir", "_path", "_prefix"))


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_path_variables_are_typed_path(role):
    options, _ = _specs(role)
    for name, spec in options.items():
        default = spec.get("default")
        if spec.get("type") == "list":
            if default and all(isinstance(item, str) and item.startswith("/") for item in default):
                assert spec.get("elements") == "path", f"{role.name}: {name} holds paths: elements: path"
        elif _looks_like_a_path(name, default):
            assert spec.get("type") == "path", f"{role.name}: {name} is a path: type: path"
