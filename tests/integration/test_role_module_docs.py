"""The airgap_repo module documents itself as Ansible expects: ansible-doc reads it, and it matches the code."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import run_tool

pytestmark = pytest.mark.integration
LIBRARY = Path(__file__).parents[2] / "roles" / "airgap_repo" / "library"
MODULE = LIBRARY / "airgap_bundle_verify.py"


def _argument_spec() -> dict:
    """The argument_spec literal given to AnsibleModule in the module's main()."""
    for node in ast.walk(ast.parse(MODULE.read_text())):
        if isinstance(node, ast.keyword) and node.arg == "argument_spec":
            return ast.literal_eval(node.value)
    raise AssertionError("no argument_spec in the module")


def test_ansible_doc_reads_documentation_examples_and_return(tmp_path):
    proc = run_tool(["ansible-doc", "-M", str(LIBRARY), "-t", "module", "airgap_bundle_verify", "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["airgap_bundle_verify"]
    examples = yaml.safe_load(doc["examples"])
    assert examples and all("airgap_bundle_verify" in task for task in examples)
    assert {"name", "sequence", "manifest_sha256", "rejected", "exit_code"} <= set(doc["return"])
    documented = doc["doc"]["options"]
    spec = _argument_spec()
    assert set(documented) == set(spec)
    for name, option in spec.items():
        assert documented[name]["type"] == option["type"], name
        assert documented[name].get("default") == option.get("default"), name
        assert bool(documented[name].get("required")) == bool(option.get("required")), name
    for task in examples:
        assert set(task["airgap_bundle_verify"]) <= set(spec)
