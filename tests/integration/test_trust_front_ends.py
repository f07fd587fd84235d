"""Both front ends of the trust core refuse every case alike: airgapctl and the appliance's Ansible module.

The module runs for real, through ansible-playbook on this machine (connection local), with
the role's own library and module_utils; each case gets the same site history on both sides,
so the ledger entry each writes must be the same but for its time.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from airgapctl.bundle import verify_bundle
from airgapctl.errors import AirgapError
from tests.integration.conftest import run_tool
from tests.rejection_cases import CASES
from tests.unit.test_bundle_support import make_bundle, make_keys

pytestmark = pytest.mark.integration
REPO = Path(__file__).parents[2]
ROLE = REPO / "roles" / "airgap_repo"
PLAYBOOK = """
- name: Verify each case with the appliance's module
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Verify
      airgap_bundle_verify:
        path: "{{ item.path }}"
        pubkey: "{{ pubkey }}"
        state_dir: "{{ item.state }}"
        ledger: "{{ item.ledger }}"
        name: "{{ item.name | default(omit) }}"
      loop: "{{ cases }}"
      register: verified
      failed_when: false
    - name: Keep the results
      ansible.builtin.copy:
        content: "{{ verified.results | to_json }}"
        dest: "{{ results }}"
        mode: "0600"
"""


def _site(home: Path, private: Path, public: Path) -> dict[str, Path]:
    """A site that accepted sequence 1, twice over (one copy per front end), and a sequence 2 to mutate."""
    sides = {side: (home / f"state-{side}", home / f"state-{side}" / "ledger.jsonl") for side in ("a", "b")}
    verify_bundle(make_bundle(home / "b1", private), public, state_dir=sides["a"][0], ledger_path=sides["a"][1])
    shutil.copytree(sides["a"][0], sides["b"][0])
    return {"bundle": make_bundle(home / "b2", private, sequence=2), **{f"state_{s}": v[0] for s, v in sides.items()}}


def _last_entry(ledger: Path) -> dict:
    entry = json.loads(ledger.read_text().splitlines()[-1])
    entry.pop("time")
    entry["reason"] = re.sub(r"\(now [0-9TZ:-]+\)", "(now)", entry["reason"])  # the expiry message's clock
    return entry


def test_airgapctl_and_the_module_give_the_same_code_and_ledger_entry(tmp_path):
    private, public = make_keys(tmp_path / "keys")
    sites, expected = [], []
    for index, case in enumerate([None, *CASES]):  # None: the untouched bundle, accepted by both
        site = _site(tmp_path / f"case{index}", private, public)
        if case is not None:
            case.mutate(site["bundle"], private)
        try:
            verify_bundle(
                site["bundle"],
                public,
                state_dir=site["state_a"],
                ledger_path=site["state_a"] / "ledger.jsonl",
                expected_name=case.expect_name if case else None,
            )
            expected.append(0)
        except AirgapError as error:
            expected.append(int(error.exit_code))
        sites.append(site)
    assert expected == [0, *(case.code for case in CASES)]
    cases = [{"path": str(s["bundle"]), "state": str(s["state_b"]), "ledger": str(s["state_b"] / "ledger.jsonl"),
              **({"name": case.expect_name} if case and case.expect_name else {})}
             for s, case in zip(sites, [None, *CASES], strict=True)]  # fmt: skip
    (tmp_path / "vars.json").write_text(json.dumps({"cases": cases, "pubkey": str(public),
                                                    "results": str(tmp_path / "results.json")}))  # fmt: skip
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    env = {"ANSIBLE_LIBRARY": str(ROLE / "library"), "ANSIBLE_MODULE_UTILS": str(ROLE / "module_utils"),
           "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_LOCALHOST_WARNING": "false"}  # fmt: skip
    proc = run_tool(["ansible-playbook", "-i", "localhost,", "play.yml", "-e", "@vars.json"], tmp_path, 600, env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    for index, (site, result) in enumerate(zip(sites, results, strict=True)):
        name = "accepted" if index == 0 else CASES[index - 1].name
        assert result.get("exit_code", 0) == expected[index], f"{name}: {result.get('msg')}"
        a, b = _last_entry(site["state_a"] / "ledger.jsonl"), _last_entry(site["state_b"] / "ledger.jsonl")
        assert a == b, f"{name}: airgapctl recorded {a}, the module {b}"
        state_a, state_b = (json.loads((site[k] / "accepted.json").read_text()) for k in ("state_a", "state_b"))
        for state in (state_a, state_b):
            for record in state["bundles"].values():
                record.pop("accepted")
        assert state_a == state_b, name
