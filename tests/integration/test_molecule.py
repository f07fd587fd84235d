"""Every role's Molecule scenario: converge, idempotence, check mode and verify, network-less."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import run_tool

pytestmark = [pytest.mark.integration, pytest.mark.molecule]

REPO = Path(__file__).parents[2]
# Every scenario of every role: (role, scenario), the default one first; then the playbooks' own
# (the whole site), as ("playbooks", scenario).
SCENARIOS = sorted(
    ((p.parts[-4], p.parts[-2]) for p in REPO.glob("roles/*/molecule/*/molecule.yml")),
    key=lambda pair: (pair[0], pair[1] != "default", pair[1]),
) + sorted(("playbooks", p.parts[-2]) for p in REPO.glob("playbooks/molecule/*/molecule.yml"))
ROLES = sorted({role for role, _ in SCENARIOS if role != "playbooks"})


def _dependencies(repo: Path, role: str) -> set[str]:
    meta = yaml.safe_load((repo / "roles" / role / "meta" / "main.yml").read_text()) or {}
    return {d["role"] if isinstance(d, dict) else d for d in meta.get("dependencies") or []}


def test_every_role_has_a_molecule_scenario_or_runs_in_those_of_the_roles_needing_it(repo):
    """A role needed by others (airgapctl_install) is converged and idempotence-checked in their scenarios."""
    roles = sorted(p.parent.parent.name for p in (repo / "roles").glob("*/tasks/main.yml"))
    without = set(roles) - set(ROLES)
    covered = {dep for role in ROLES for dep in _dependencies(repo, role)}
    assert without <= covered, f"roles with neither a scenario nor a tested dependant: {without - covered}"
    assert ROLES


@pytest.mark.parametrize(("role", "scenario"), SCENARIOS, ids=[f"{r}-{s}" for r, s in SCENARIOS])
def test_molecule_scenario_passes(role, scenario, repo, lab_image, test_bundle):
    project = repo / "playbooks" if role == "playbooks" else repo / "roles" / role
    proc = run_tool(
        ["molecule", "test", "--scenario-name", scenario],
        cwd=project,
        timeout=1500,
        extra_env=test_bundle.env(),
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, _failure(output)
    for step in ("converge", "idempotence", "check", "verify"):
        assert f"{step}: Executed: Successful" in output, f"molecule step {step} did not succeed"
    for canary in _canaries(project):
        assert canary not in output, f"a secret value reached the Ansible output of {role}'s scenario"
    # Scenarios that make their canaries at run time make them canary-<16 hex digits>.
    assert not re.search(r"canary-[0-9a-f]{16}", output), f"a secret value reached the output of {role}'s scenario"


def _canaries(role_dir: Path) -> list[str]:
    """The secret values a scenario provisions with (vars.yml keys canary*); its verify searches the instance."""
    shared = role_dir / "molecule" / "default" / "vars.yml"
    if not shared.is_file():
        return []
    values = yaml.safe_load(shared.read_text()) or {}
    return [str(v) for k, v in values.items() if k.startswith("canary") and "{{" not in str(v)]


def _failure(output: str) -> str:
    """The first failed task's lines and the end: the destroy step that follows would push it out."""
    first = re.search(r"^(fatal|failed): .*$", output, re.MULTILINE)
    shown = output[max(0, first.start() - 500) : first.start() + 3000] + "\n...\n" if first else ""
    return shown + output[-4000:]
