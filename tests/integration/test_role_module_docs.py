"""Every role's modules document themselves as Ansible expects: ansible-doc reads them, and they match the code."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import run_tool

pytestmark = pytest.mark.integration
MODULES = sorted(Path(__file__).parents[2].glob("roles/*/library/*.py"))
# What each module must say it returns (the keys its callers read).
RETURNS = {
    "airgap_bundle_verify": {"name", "sequence", "manifest_sha256", "rejected", "exit_code"},
    "airgap_credential": {"path", "name", "header", "hint"},
    "airgap_gateway_render": {"rc", "stdout", "stderr"},
}


def _argument_spec(module: Path) -> dict:
    """The argument_spec literal given to AnsibleModule in the module's main()."""
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.keyword) and node.arg == "argument_spec":
            return ast.literal_eval(node.value)
    raise AssertionError("no argument_spec in the module")


def test_every_module_is_listed():
    assert sorted(module.stem for module in MODULES) == sorted(RETURNS)


@pytest.mark.parametrize("module", MODULES, ids=[module.stem for module in MODULES])
def test_ansible_doc_reads_documentation_examples_and_return(module, tmp_path):
    name = module.stem
    proc = run_tool(["ansible-doc", "-M", str(module.parent), "-t", "module", name, "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)[name]
    examples = yaml.safe_load(doc["examples"])
    assert examples and all(name in task for task in examples)
    assert RETURNS[name] <= set(doc["return"])
    documented = doc["doc"]["options"]
    spec = _argument_spec(module)
    assert set(documented) == set(spec)
    for option_name, option in spec.items():
        assert documented[option_name]["type"] == option["type"], option_name
        assert documented[option_name].get("default") == option.get("default"), option_name
        assert bool(documented[option_name].get("required")) == bool(option.get("required")), option_name
    for task in examples:
        assert set(task[name]) <= set(spec)
