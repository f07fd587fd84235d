"""The credentials file and what airgapctl vault does to it: sealing, set, rotate, remove, rekey, passwords."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret

from airgapctl.errors import AirgapError, ExitCode
from airgapctl.vault import operations, store
from airgapctl.vault.passwords import PASSWORD_ENV, Password, generate_password_file, read_password
from airgapctl.vault.sealing import check_vault_id, seal, unseal, vault_id_of

CANARY = "Bearer canary-51d0-store-never-in-clear"
PASSWORD = Password(b"correct horse", "test")
OTHER = Password(b"another password", "other")
T0 = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 9, 1, 12, 30, tzinfo=dt.UTC)


@pytest.fixture
def vault_file(tmp_path) -> Path:
    path = tmp_path / "inventory" / "group_vars" / "appliances" / "credentials.yml"
    operations.init(path)
    return path


def _ansible_opens(vaulttext: str, password: bytes) -> str:
    return VaultLib([("airgap", VaultSecret(password))]).decrypt(vaulttext).decode()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_sealed_value_is_ansible_vault_text_with_its_vault_id():
    text = seal(CANARY, PASSWORD.secret, "airgap")
    assert text.startswith("$ANSIBLE_VAULT;1.2;AES256;airgap\n") and text.endswith("\n")
    assert CANARY not in text
    assert vault_id_of(text) == "airgap"
    assert _ansible_opens(text, PASSWORD.secret) == CANARY
    assert unseal(text, PASSWORD.secret) == CANARY
    assert unseal(text, OTHER.secret) is None


@pytest.mark.parametrize("label", ["", "a@b", "a;b", "a b", "-x", "x" * 65])
def test_vault_ids_ansible_could_not_carry_are_refused(label):
    with pytest.raises(AirgapError, match="is not a vault id label"):
        check_vault_id(label)


def test_init_writes_an_empty_file_0600_and_refuses_an_existing_one(vault_file):
    assert _mode(vault_file) == 0o600
    assert store.load(vault_file).entries == {}
    text = vault_file.read_text()
    assert text.startswith("# Upstream credentials for the secrets role") and "secrets_credentials: {}" in text
    with pytest.raises(AirgapError, match="already exists"):
        operations.init(vault_file)


def test_set_seals_the_value_alone_and_records_the_header_and_when(vault_file):
    result = operations.set_credential(vault_file, "pets-api-token", CANARY, PASSWORD, "airgap", now=T0)
    assert (result.changed, result.header, result.vault_id) == (True, "Authorization", "airgap")
    operations.set_credential(vault_file, "billing", "k-1", PASSWORD, "airgap", header="X-Api-Key", now=T1)
    assert _mode(vault_file) == 0o600
    text = vault_file.read_text()
    assert CANARY not in text
    assert (
        "pets-api-token:\n    header: Authorization\n    value: !vault |\n      $ANSIBLE_VAULT;1.2;AES256;airgap\n"
        in text
    )
    assert "created: '2026-06-01T10:00:00Z'" in text
    entry = store.load(vault_file).entries["pets-api-token"]
    assert _ansible_opens(entry.vaulttext, PASSWORD.secret) == CANARY
    listed = operations.list_credentials(vault_file)
    assert [(c.name, c.header, c.vault_id, c.created, c.rotated) for c in listed] == [
        ("billing", "X-Api-Key", "airgap", "2026-09-01T12:30:00Z", None),
        ("pets-api-token", "Authorization", "airgap", "2026-06-01T10:00:00Z", None),
    ]
    assert [p.name for p in vault_file.parent.iterdir()] == ["credentials.yml"], "a temporary file was left"


def test_set_again_with_the_same_value_changes_nothing_and_another_value_is_refused(vault_file):
    operations.set_credential(vault_file, "pets", CANARY, PASSWORD, "airgap", now=T0)
    before = vault_file.read_bytes()
    again = operations.set_credential(vault_file, "pets", CANARY, PASSWORD, "airgap", now=T1)
    assert again.changed is False and vault_file.read_bytes() == before
    with pytest.raises(AirgapError, match="already exists with another value") as error:
        operations.set_credential(vault_file, "pets", CANARY + "2", PASSWORD, "airgap")
    assert "airgapctl vault rotate pets" in error.value.hint
    with pytest.raises(AirgapError, match="already exists"):
        operations.set_credential(vault_file, "pets", CANARY, PASSWORD, "airgap", header="X-Api-Key")
    assert vault_file.read_bytes() == before


def test_a_password_that_does_not_open_the_files_entries_is_refused(vault_file):
    operations.set_credential(vault_file, "pets", CANARY, PASSWORD, "airgap")
    before = vault_file.read_bytes()
    for attempt in (
        lambda: operations.set_credential(vault_file, "other", "v", OTHER, "airgap"),
        lambda: operations.rotate_credential(vault_file, "pets", "v", OTHER, "airgap"),
    ):
        with pytest.raises(AirgapError, match="does not open credential pets") as error:
            attempt()
        assert error.value.exit_code == ExitCode.BAD_INPUT
    # Under another vault id a second password is what Ansible expects.
    operations.set_credential(vault_file, "lab-only", "v", OTHER, "lab")
    assert {c.name: c.vault_id for c in operations.list_credentials(vault_file)} == {
        "lab-only": "lab",
        "pets": "airgap",
    }
    assert vault_file.read_bytes() != before


def test_rotate_replaces_the_value_keeps_created_and_records_when(vault_file):
    operations.set_credential(vault_file, "pets", CANARY, PASSWORD, "airgap", now=T0)
    old = store.load(vault_file).entries["pets"].vaulttext
    result = operations.rotate_credential(vault_file, "pets", CANARY + "-next", PASSWORD, "airgap", now=T1)
    assert result.changed and result.header == "Authorization"
    entry = store.load(vault_file).entries["pets"]
    assert (entry.created, entry.rotated) == ("2026-06-01T10:00:00Z", "2026-09-01T12:30:00Z")
    assert entry.vaulttext != old and unseal(entry.vaulttext, PASSWORD.secret) == CANARY + "-next"
    same = operations.rotate_credential(vault_file, "pets", CANARY + "-next", PASSWORD, "airgap")
    assert same.changed is False
    moved = operations.rotate_credential(vault_file, "pets", "k", PASSWORD, "airgap", header="X-Api-Key")
    assert moved.header == "X-Api-Key" and store.load(vault_file).entries["pets"].header == "X-Api-Key"


def test_rotate_and_remove_refuse_an_unknown_name(vault_file):
    operations.set_credential(vault_file, "pets", CANARY, PASSWORD, "airgap")
    with pytest.raises(AirgapError, match="no credential pest to rotate") as error:
        operations.rotate_credential(vault_file, "pest", "v", PASSWORD, "airgap")
    assert "airgapctl vault set pest" in error.value.hint
    with pytest.raises(AirgapError, match="no credential pest to remove"):
        operations.remove_credential(vault_file, "pest")
    assert operations.remove_credential(vault_file, "pets").changed
    assert store.load(vault_file).entries == {}


def test_values_and_headers_the_gateway_could_not_send_never_enter_the_file(vault_file):
    before = vault_file.read_bytes()
    for value, header in [(CANARY + "$x", None), (CANARY + "\n2", None), ("v", "Host"), ("v", "X_Key")]:
        with pytest.raises(AirgapError) as error:
            operations.set_credential(vault_file, "pets", value, PASSWORD, "airgap", header=header)
        assert error.value.exit_code == ExitCode.BAD_INPUT and CANARY not in error.value.message
    with pytest.raises(AirgapError, match="is not a vault entry name"):
        operations.set_credential(vault_file, "../x", "v", PASSWORD, "airgap")
    assert vault_file.read_bytes() == before


def test_rekey_seals_every_entry_of_the_id_again_all_or_none(vault_file, tmp_path):
    operations.set_credential(vault_file, "a", "value-a", PASSWORD, "airgap")
    operations.set_credential(vault_file, "b", "value-b", PASSWORD, "airgap")
    operations.set_credential(vault_file, "lab", "value-lab", OTHER, "lab")
    before = vault_file.read_bytes()
    with pytest.raises(AirgapError, match="does not open credential a"):
        operations.rekey(vault_file, OTHER, Password(b"new", "new"), "airgap")
    assert vault_file.read_bytes() == before
    result = operations.rekey(vault_file, PASSWORD, Password(b"new", "new"), "airgap")
    assert (result.rekeyed, result.kept) == (["a", "b"], ["lab"])
    entries = store.load(vault_file).entries
    assert (
        unseal(entries["a"].vaulttext, b"new") == "value-a" and unseal(entries["a"].vaulttext, PASSWORD.secret) is None
    )
    assert unseal(entries["lab"].vaulttext, OTHER.secret) == "value-lab"
    generated = tmp_path / "new-pass"
    result = operations.rekey(vault_file, Password(b"new", "new"), None, "airgap", generate=generated)
    fresh = read_password(generated, "airgap", environ={})
    assert _mode(generated) == 0o600 and len(fresh.secret) >= 40
    assert unseal(store.load(vault_file).entries["b"].vaulttext, fresh.secret) == "value-b"
    with pytest.raises(AirgapError, match="no credential is sealed under vault id nope"):
        operations.rekey(vault_file, PASSWORD, PASSWORD, "nope")


def test_a_writer_in_between_is_noticed(vault_file):
    credentials = store.load(vault_file)
    operations.set_credential(vault_file, "pets", "v", PASSWORD, "airgap")
    credentials.entries["x"] = store.Entry(
        "Authorization", seal("v", PASSWORD.secret, "airgap"), "2026-01-01T00:00:00Z"
    )
    with pytest.raises(AirgapError, match="changed while this command ran"):
        store.save(credentials)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("secrets_credentials: [", "not valid YAML"),
        ("other: 1\n", "holds one key, secrets_credentials"),
        ("secrets_credentials: [a]\n", "is not a mapping of credential names"),
        ("secrets_credentials:\n  pets: {header: Authorization, value: hunter2}\n", "pets.value is not a !vault value"),
        ("secrets_credentials:\n  pets: token\n", "pets is not a mapping with a value"),
        ("secrets_credentials:\n  bad name: {value: !vault x}\n", "'bad name' is not a vault entry name"),
        ("secrets_credentials:\n  pets: {value: !vault 'not vault'}\n", "pets.value: not Ansible Vault text"),
        ("secrets_credentials:\n  pets: {value: !vault 'x', colour: red}\n", "unknown key 'colour'"),
        ("secrets_credentials:\n  a: {value: !vault x}\n  a: {value: !vault y}\n", "duplicate key 'a'"),
    ],
)
def test_a_damaged_file_is_refused_naming_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "credentials.yml"
    path.write_text(text)
    with pytest.raises(AirgapError) as error:
        store.load(path)
    assert error.value.exit_code == ExitCode.BAD_INPUT
    assert error.value.message.startswith(str(path)) and message in error.value.message
    assert "hunter2" not in error.value.message


def test_a_bad_header_or_time_in_the_file_is_named(tmp_path):
    sealed = seal("v", PASSWORD.secret, "airgap").replace("\n", "\n      ")
    path = tmp_path / "credentials.yml"
    path.write_text(f"secrets_credentials:\n  pets:\n    header: Host\n    value: !vault |\n      {sealed}\n")
    with pytest.raises(AirgapError, match=r"secrets_credentials\.pets\.header: credential pets: header Host"):
        store.load(path)
    path.write_text(f"secrets_credentials:\n  pets:\n    created: soon\n    value: !vault |\n      {sealed}\n")
    with pytest.raises(AirgapError, match=r"pets\.created: 'soon' is not a time"):
        store.load(path)
    path.write_text(
        f"secrets_credentials:\n  pets:\n    created: 2026-01-02 03:04:05\n    value: !vault |\n      {sealed}\n"
    )
    assert store.load(path).entries["pets"].created == "2026-01-02T03:04:05Z"


def test_a_missing_file_says_how_to_create_it(tmp_path):
    with pytest.raises(AirgapError, match="no such credentials file") as error:
        store.load(tmp_path / "nope.yml")
    assert "airgapctl vault init" in error.value.hint


# --- password sources


def test_a_password_file_is_read_as_ansible_reads_it(tmp_path):
    path = tmp_path / "pass"
    path.write_text("s3cret\n\n")
    assert read_password(path, "airgap", environ={}).secret == b"s3cret"


def test_an_executable_is_run_and_a_client_script_is_told_the_vault_id(tmp_path):
    script = tmp_path / "pass.sh"
    script.write_text("#!/bin/sh\necho from-script\n")
    script.chmod(0o700)
    assert read_password(script, "airgap", environ={}).secret == b"from-script"
    client = tmp_path / "pass-client.sh"
    client.write_text('#!/bin/sh\n[ "$1" = --vault-id ] && echo "for-$2"\n')
    client.chmod(0o700)
    assert read_password(client, "lab", environ={}).secret == b"for-lab"
    failing = tmp_path / "fail.sh"
    failing.write_text("#!/bin/sh\nexit 4\n")
    failing.chmod(0o700)
    with pytest.raises(AirgapError, match="returned non-zero") as error:
        read_password(failing, "airgap", environ={})
    assert error.value.exit_code == ExitCode.ENVIRONMENT


def test_the_environment_then_a_prompt_only_when_offered(tmp_path):
    assert read_password(None, "airgap", environ={PASSWORD_ENV: "from-env"}).secret == b"from-env"
    assert read_password(None, "airgap", environ={}, prompt=lambda: "typed").secret == b"typed"
    with pytest.raises(AirgapError, match="no vault password given") as error:
        read_password(None, "airgap", environ={})
    assert PASSWORD_ENV in error.value.hint and error.value.exit_code == ExitCode.BAD_INPUT
    with pytest.raises(AirgapError, match="no such file"):
        read_password(tmp_path / "missing", "airgap", environ={})
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(AirgapError, match="Invalid vault password"):
        read_password(empty, "airgap", environ={})


def test_a_generated_password_file_is_random_0600_and_never_replaces_one(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    generate_password_file(first)
    generate_password_file(second)
    assert _mode(first) == 0o600 and first.read_text() != second.read_text()
    before = first.read_bytes()
    with pytest.raises(AirgapError, match="already exists"):
        generate_password_file(first)
    assert first.read_bytes() == before
