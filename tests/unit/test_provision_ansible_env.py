"""The vault sources ansible-playbook gets: absolute, since it runs in the run's own directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from airgapctl.errors import BadInputError
from airgapctl.provision.ansible_env import Vault


def test_relative_vault_sources_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    vault = Vault.resolve(Path("secrets/vault-pass"), ["airgap@secrets/other", "lab@/etc/pass"])
    env = vault.envvars()
    assert env["ANSIBLE_VAULT_PASSWORD_FILE"] == str(tmp_path / "secrets/vault-pass")
    assert env["ANSIBLE_VAULT_IDENTITY_LIST"] == f"airgap@{tmp_path}/secrets/other,lab@/etc/pass"


def test_a_prompting_vault_id_is_refused():
    with pytest.raises(BadInputError, match="a prompt cannot be answered"):
        Vault.resolve(None, ["airgap@prompt"])


def test_a_vault_source_under_home_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    env = Vault.resolve(Path("~/pass"), ["airgap@~/other"]).envvars()
    assert env["ANSIBLE_VAULT_PASSWORD_FILE"] == str(tmp_path / "pass")
    assert env["ANSIBLE_VAULT_IDENTITY_LIST"] == f"airgap@{tmp_path}/other"
