"""``airgapctl vault``: values from standard input only, passwords without prompts off a terminal,
``--json`` documents, and a secret that no output and no file ever shows in clear."""

from __future__ import annotations

import io
import json
import stat
import sys

import pytest
import typer

from airgapctl.cli import app
from airgapctl.cli.reference import iter_commands
from airgapctl.errors import ExitCode
from airgapctl.vault import store
from airgapctl.vault.passwords import PASSWORD_ENV
from airgapctl.vault.sealing import unseal

CANARY = "canary-8e41b7-vault-value-never-shown"


@pytest.fixture
def run(cli, monkeypatch):
    """``airgapctl ARGS`` with ``stdin`` piped in; every output is kept for the canary check."""
    outputs: list[str] = []
    monkeypatch.delenv(PASSWORD_ENV, raising=False)

    def invoke(*args: str, stdin: str = ""):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8", "surrogateescape"))))
        result = cli(*args)
        outputs.extend([result.stdout, result.stderr])
        return result

    invoke.outputs = outputs
    return invoke


@pytest.fixture
def site(tmp_path, run):
    vault, password = tmp_path / "inventory" / "credentials.yml", tmp_path / "vault-pass"
    result = run("vault", "init", "--file", str(vault), "--generate-password-file", str(password))
    assert result.exit_code == 0, result.stderr
    return vault, password


def _json(result):
    return json.loads(result.stdout)


def test_init_set_list_and_the_file(site, run):
    vault, password = site
    assert stat.S_IMODE(password.stat().st_mode) == 0o600 and stat.S_IMODE(vault.stat().st_mode) == 0o600
    common = ["--file", str(vault), "--vault-password-file", str(password)]
    result = run("vault", "set", "pets-api-token", *common, stdin=f"Bearer {CANARY}\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"credential pets-api-token: set in {vault} (header Authorization, vault id airgap)\n"
    result = run("vault", "set", "billing", *common, "--header", "X-Api-Key", "--vault-id", "airgap", stdin=CANARY)
    assert result.exit_code == 0, result.stderr
    entries = store.load(vault).entries
    assert unseal(entries["pets-api-token"].vaulttext, password.read_text().strip().encode()) == f"Bearer {CANARY}"
    assert unseal(entries["billing"].vaulttext, password.read_text().strip().encode()) == CANARY
    listed = run("vault", "list", "--file", str(vault))
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["NAME", "HEADER", "VAULT_ID", "CREATED", "ROTATED"]
    assert [line.split()[:3] for line in lines[1:]] == [["billing", "X-Api-Key", "airgap"],
                                                        ["pets-api-token", "Authorization", "airgap"]]  # fmt: skip
    document = _json(run("vault", "list", "--file", str(vault), "--json"))
    assert document["status"] == "ok" and document["data"]["file"] == str(vault)
    assert [c["name"] for c in document["data"]["credentials"]] == ["billing", "pets-api-token"]
    assert set(document["data"]["credentials"][0]) == {"name", "header", "vault_id", "created", "rotated"}


def test_list_needs_no_password_and_an_empty_file_says_so(site, run):
    vault, _ = site
    assert run("vault", "list", "--file", str(vault)).stdout == f"no credentials in {vault}\n"


def test_set_twice_is_unchanged_and_rotate_records_when(site, run):
    vault, password = site
    common = ["--file", str(vault), "--vault-password-file", str(password)]
    run("vault", "set", "pets", *common, stdin="one")
    again = run("vault", "set", "pets", *common, "--json", stdin="one")
    assert _json(again)["data"] == {"action": "set", "changed": False, "file": str(vault), "header": "Authorization",
                                    "name": "pets", "vault_id": "airgap"}  # fmt: skip
    refused = run("vault", "set", "pets", *common, stdin="two")
    assert refused.exit_code == ExitCode.BAD_INPUT and "airgapctl vault rotate pets" in refused.stderr
    rotated = run("vault", "rotate", "pets", *common, stdin="two\n")
    assert rotated.exit_code == 0 and rotated.stdout.startswith("credential pets: rotated in ")
    row = _json(run("vault", "list", "--file", str(vault), "--json"))["data"]["credentials"][0]
    assert row["rotated"] is not None and row["created"] <= row["rotated"]
    unknown = run("vault", "rotate", "pest", *common, "--json", stdin="x")
    assert unknown.exit_code == ExitCode.BAD_INPUT
    assert _json(unknown)["errors"][0]["message"] == f"{vault}: no credential pest to rotate"


def test_the_password_from_the_environment_and_never_a_prompt_off_a_terminal(site, run, monkeypatch):
    vault, password = site
    no_password = run("vault", "set", "pets", "--file", str(vault), stdin="v")
    assert no_password.exit_code == ExitCode.BAD_INPUT
    assert "no vault password given" in no_password.stderr and PASSWORD_ENV in no_password.stderr
    monkeypatch.setenv(PASSWORD_ENV, password.read_text().strip())
    assert run("vault", "set", "pets", "--file", str(vault), stdin="v").exit_code == 0
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    wrong = run("vault", "rotate", "pets", "--file", str(vault), stdin="w")
    assert wrong.exit_code == ExitCode.BAD_INPUT and "does not open credential pets" in wrong.stderr


def test_the_value_never_comes_from_the_command_line():
    for path, command in iter_commands(typer.main.get_command(app)):
        if path[:2] == ("airgapctl", "vault"):
            names = {param.name for param in command.params}
            assert not names & {"value", "secret", "token"}, path
            arguments = [param.name for param in command.params if param.param_type_name == "argument"]
            assert arguments in ([], ["name"]), path


def test_no_value_on_stdin_is_refused(site, run):
    vault, password = site
    result = run("vault", "set", "pets", "--file", str(vault), "--vault-password-file", str(password), stdin="\n")
    assert result.exit_code == ExitCode.BAD_INPUT and "no value on standard input" in result.stderr


def test_init_checks_a_given_password_and_refuses_two_sources(tmp_path, run):
    given = tmp_path / "pass"
    given.write_text("pw\n")
    ok = run("vault", "init", "--file", str(tmp_path / "a.yml"), "--vault-password-file", str(given), "--json")
    assert _json(ok)["data"] == {"file": str(tmp_path / "a.yml"), "password_file": None}
    both = run("vault", "init", "--file", str(tmp_path / "b.yml"), "--vault-password-file", str(given),
               "--generate-password-file", str(tmp_path / "new"))  # fmt: skip
    assert both.exit_code == ExitCode.BAD_INPUT and not (tmp_path / "b.yml").exists()
    missing = run("vault", "init", "--file", str(tmp_path / "c.yml"), "--vault-password-file", str(tmp_path / "no"))
    assert missing.exit_code == ExitCode.BAD_INPUT and "no such file" in missing.stderr
    again = run("vault", "init", "--file", str(tmp_path / "a.yml"))
    assert again.exit_code == ExitCode.BAD_INPUT and "already exists" in again.stderr


def test_rekey_with_a_generated_password(site, run, tmp_path):
    vault, password = site
    common = ["--file", str(vault), "--vault-password-file", str(password)]
    run("vault", "set", "pets", *common, stdin="v")
    new = tmp_path / "new-pass"
    result = run("vault", "rekey", *common, "--new-vault-password-file", str(new), "--generate", "--json")
    assert result.exit_code == 0, result.stderr
    assert _json(result)["data"]["rekeyed"] == ["pets"] and stat.S_IMODE(new.stat().st_mode) == 0o600
    stale = run("vault", "rotate", "pets", *common, stdin="w")
    assert "does not open credential pets" in stale.stderr
    assert (
        run("vault", "rotate", "pets", "--file", str(vault), "--vault-password-file", str(new), stdin="w").exit_code
        == 0
    )


def test_the_secret_never_shows_in_any_output_or_in_clear_in_any_file(site, run, tmp_path):
    vault, password = site
    common = ["--file", str(vault), "--vault-password-file", str(password)]
    new_password = tmp_path / "new-pass"
    new_password.write_text("next password\n")
    steps = [
        (("vault", "set", "pets", *common), f"Bearer {CANARY}\n"),
        (("vault", "set", "pets", *common, "--json"), f"Bearer {CANARY}\n"),
        (("vault", "set", "pets", *common), f"Bearer {CANARY}-other"),
        (("vault", "set", "key", *common, "--header", "X-Api-Key", "--json"), CANARY),
        (("vault", "set", "dollar", *common), f"{CANARY}$x"),
        (("--debug", "vault", "set", "dollar", *common, "--json"), f"{CANARY}\r\nX-Injected: 1"),
        (("vault", "set", "dollar", *common), f"{CANARY}é"),
        (("vault", "set", "hosty", *common, "--header", "Host"), CANARY),
        (("vault", "list", "--file", str(vault)), ""),
        (("vault", "list", "--file", str(vault), "--json"), ""),
        (("vault", "rotate", "pets", *common), f"Bearer {CANARY}-2"),
        (("vault", "rotate", "pets", *common, "--json"), f"Bearer {CANARY}-2"),
        (("vault", "rotate", "pets", "--file", str(vault), "--vault-password-file", str(new_password)), CANARY),
        (("vault", "rekey", *common, "--new-vault-password-file", str(new_password), "--json"), ""),
        (("vault", "rekey", *common, "--new-vault-password-file", str(new_password)), ""),
        (("vault", "remove", "key", "--file", str(vault)), ""),
        (("vault", "list", "--file", str(vault)), ""),
    ]
    codes = [run(*args, stdin=stdin).exit_code for args, stdin in steps]
    assert codes == [0, 0, 2, 0, 2, 2, 2, 2, 0, 0, 0, 0, 2, 0, 2, 0, 0]
    for output in run.outputs:
        assert CANARY not in output
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert vault in files
    for path in files:
        assert CANARY.encode() not in path.read_bytes(), path
