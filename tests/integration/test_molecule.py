"""Every role's Molecule scenario: converge, idempotence, check mode and verify, network-less."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import run_tool

pytestmark = [pytest.mark.integration, pytest.mark.molecule]

ROLES = sorted(
    p.parent.parent.parent.name for p in Path(__file__).parents[2].glob("roles/*/molecule/default/molecule.yml")
)


def test_every_role_has_a_molecule_scenario(repo):
    # A role is a directory with tasks; gateway_proxy holds only the gateway templates so far.
    roles = sorted(p.parent.parent.name for p in (repo / "roles").glob("*/tasks/main.yml"))
    assert roles == ROLES and roles


@pytest.mark.parametrize("role", ROLES)
def test_molecule_scenario_passes(role, repo, lab_image, test_bundle):
    proc = run_tool(["molecule", "test"], cwd=repo / "roles" / role, timeout=1500, extra_env=test_bundle.env())
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    for step in ("converge", "idempotence", "check", "verify"):
        assert f"{step}: Executed: Successful" in output, f"molecule step {step} did not succeed"
