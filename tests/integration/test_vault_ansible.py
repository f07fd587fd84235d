"""What ``airgapctl vault`` writes, read by Ansible itself: ansible-playbook opens the values with
the vault id and password file, and the secrets role turns them into the gateway's include files.

The role runs for real through ansible-playbook on this machine (connection local), writing only
under a temporary directory; nothing it prints, and no file but the include files, holds a value.
"""

from __future__ import annotations

import grp
import io
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from airgapctl.cli import main
from airgapctl.gateway.credentials import include_text
from tests.integration.conftest import run_tool

pytestmark = pytest.mark.integration
REPO = Path(__file__).parents[2]
CANARY = "canary-2d7f90-through-ansible"
CREDENTIALS = {
    "pets-api-token": ("Authorization", f'Bearer {CANARY} "quoted" back\\slash'),
    "billing-key": ("X-Api-Key", f"key-{CANARY}"),
}
READ_BACK = """
- name: Read the sealed values back, as a play using the inventory would
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [credentials.yml]
  tasks:
    - name: Write each value as Ansible decrypted it
      ansible.builtin.copy:
        content: "{{ secrets_credentials[item].value }}"
        dest: "{{ out }}/{{ item }}"
        mode: "0600"
      loop: "{{ secrets_credentials | list }}"
      no_log: true
"""
CONVERGE = """
- name: Converge the secrets role on this machine, under a temporary directory
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [credentials.yml]
  roles:
    - role: secrets
"""


def _env() -> dict[str, str]:
    return {"ANSIBLE_ROLES_PATH": str(REPO / "roles"), "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_DEPRECATION_WARNINGS": "false"}  # fmt: skip


def _airgapctl(*args: str, stdin: str = "") -> None:
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()))
    try:
        with pytest.raises(SystemExit) as exit_:
            main(list(args))
    finally:
        sys.stdin = saved
    assert exit_.value.code in (0, None), args


@pytest.fixture
def site(tmp_path) -> Path:
    """credentials.yml and vault-pass written by airgapctl vault, as an operator would."""
    vault, password = tmp_path / "credentials.yml", tmp_path / "vault-pass"
    _airgapctl("vault", "init", "--file", str(vault), "--generate-password-file", str(password))
    for name, (header, value) in CREDENTIALS.items():
        _airgapctl("vault", "set", name, "--file", str(vault), "--vault-password-file", str(password),
                   "--header", header, stdin=value + "\n")  # fmt: skip
    return tmp_path


def _playbook(site: Path, text: str, *args: str) -> str:
    (site / "play.yml").write_text(text)
    argv = ["ansible-playbook", "-i", "localhost,", "play.yml", "--vault-id", f"airgap@{site / 'vault-pass'}", *args]
    proc = run_tool(argv, site, 300, _env())
    output = proc.stdout + proc.stderr
    assert CANARY not in output
    assert proc.returncode == 0, output[-4000:]
    return output


def _recap(output: str) -> dict[str, int]:
    line = next(line for line in output.splitlines() if line.startswith("localhost") and "ok=" in line)
    return {key: int(value) for key, value in (item.split("=") for item in line.split()[2:])}


def test_ansible_playbook_opens_what_vault_set_sealed(site):
    out = site / "out"
    out.mkdir()
    _playbook(site, READ_BACK, "-e", f"out={out}")
    assert {p.name: p.read_text() for p in out.iterdir()} == {name: value for name, (_, value) in CREDENTIALS.items()}


def test_the_role_writes_the_include_files_idempotently_and_removes_stale_ones(site):
    group = grp.getgrgid(os.getgid()).gr_name
    directory = site / "appliance" / "credentials"
    extra = ["-e", json.dumps({"secrets_dir": str(directory), "secrets_group": group})]
    first = _playbook(site, CONVERGE, *extra)
    assert _recap(first)["changed"] == 2  # the directory, and the files (one looped task)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o750
    for name, (header, value) in CREDENTIALS.items():
        path = directory / f"{name}.conf"
        info = path.stat()
        assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o640, 0, os.getgid())
        assert path.read_text() == include_text(name, header, value)
    assert _recap(_playbook(site, CONVERGE, *extra))["changed"] == 0

    (directory / "retired.conf").write_text('proxy_set_header Authorization "old";\n')
    (directory / "notes.txt").write_text("kept\n")
    (directory / "pets-api-token.conf").chmod(0o644)
    checked = _playbook(site, CONVERGE, *extra, "--check")
    assert _recap(checked)["changed"] == 2 and (directory / "retired.conf").exists()
    assert stat.S_IMODE((directory / "pets-api-token.conf").stat().st_mode) == 0o644
    again = _playbook(site, CONVERGE, *extra)
    assert "retired.conf" in again
    assert sorted(p.name for p in directory.iterdir()) == ["billing-key.conf", "notes.txt", "pets-api-token.conf"]
    assert stat.S_IMODE((directory / "pets-api-token.conf").stat().st_mode) == 0o640
    # Values live in the vault file (sealed) and in the include files, nowhere else.
    for path in site.rglob("*"):
        if path.is_file() and path.parent != directory:
            assert CANARY.encode() not in path.read_bytes(), path


def test_a_credential_the_gateway_could_not_send_stops_the_role_before_it_writes(site):
    plain = {"secrets_credentials": {"pets-api-token": {"value": f"{CANARY}$x"}, "hosty": {"header": "Host",
             "value": CANARY}, "ok": {"value": "fine"}}, "secrets_dir": str(site / "never"),
             "secrets_group": grp.getgrgid(os.getgid()).gr_name}  # fmt: skip
    (site / "play.yml").write_text(CONVERGE.replace("  vars_files: [credentials.yml]\n", ""))
    proc = run_tool(["ansible-playbook", "-i", "localhost,", "play.yml", "-e", json.dumps(plain)], site, 300, _env())
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "credential pets-api-token: the value holds '$' at character 30" in output
    assert "credential hosty: header Host is one the gateway sets itself" in output
    assert CANARY not in output
    assert not (site / "never").exists()
