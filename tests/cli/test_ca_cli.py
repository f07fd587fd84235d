"""``airgapctl ca``: a site's CA run from the command line; one-line errors; the passphrase never shown."""

from __future__ import annotations

import json

import pytest

from airgapctl.ca import passphrase as passphrase_module
from airgapctl.errors import ExitCode
from airgapctl.gateway.selftest import find_certificates

CANARY = "canary-ca-passphrase-5e1f0c2b-do-not-print"
POLICY = "tests/fixtures/audit/policy.json"  # clients alice, bob, carol: CN=<name>,OU=ops,O=Example


@pytest.fixture(autouse=True)
def environment(monkeypatch, tmp_path):
    monkeypatch.setenv(passphrase_module.ENV_VAR, CANARY)
    monkeypatch.delenv("AIRGAPCTL_CA_DIR", raising=False)
    monkeypatch.setattr(passphrase_module, "_on_terminal", lambda: False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def ca(cli, tmp_path):
    """A CA in tmp_path/ca (organization Example) and a way to run ``airgapctl ca ... --dir tmp_path/ca``."""
    created = cli("ca", "init", "--dir", str(tmp_path / "ca"), "--name", "Site CA", "--org", "Example")
    assert created.exit_code == 0, created.stderr

    def run(*args: str):
        return cli("ca", *args, "--dir", str(tmp_path / "ca"))

    return run


def _one_line_error(result, code: int, text: str) -> str:
    assert result.exit_code == code, result
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("airgapctl: error: ") and text in first, result.stderr
    return result.stderr


def test_a_site_runs_its_ca_from_the_command_line(ca, cli, tmp_path, repo):
    server = ca("issue", "server", "gateway", "--san", "gw.site.internal", "--san", "10.0.0.5", "--out", "tls")
    assert server.exit_code == 0, server.stderr
    assert "issued server gateway: serial " in server.stdout
    assert "SANs: DNS:gw.site.internal, IP:10.0.0.5" in server.stdout
    assert ca("issue", "client", "alice", "--policy", str(repo / POLICY), "--out", "clients").exit_code == 0
    assert ca("issue", "client", "bob", "--subject", "CN=bob,OU=ops,O=Example", "--out", "clients").exit_code == 0
    dave = ca("issue", "client", "dave", "--out", "clients", "--json")
    document = json.loads(dave.stdout)
    assert document["status"] == "ok" and document["data"]["certificate"]["subject"] == "CN=dave,O=Example"
    assert document["data"]["cert"] == "clients/dave.crt"  # as given on the command line
    assert sorted(p.name for p in (tmp_path / "clients").iterdir()) == [
        "alice.crt", "alice.key", "bob.crt", "bob.key", "ca.crt", "dave.crt", "dave.key"]  # fmt: skip

    revoked = ca("revoke", "bob", "--reason", "superseded")
    assert revoked.exit_code == 0, revoked.stderr
    assert "revoked client bob: serial" in revoked.stdout and "number 2, 1 revoked" in revoked.stdout

    listed = ca("list")
    assert listed.stdout.splitlines()[1].split() == ["SERIAL", "KIND", "NAME", "SUBJECT", "EXPIRES", "STATUS"]
    rows = {line.split()[2]: line.split() for line in listed.stdout.splitlines()[2:]}
    assert {name: row[-1] for name, row in rows.items()} == {
        "gateway": "valid", "alice": "valid", "bob": "revoked", "dave": "valid"}  # fmt: skip
    assert rows["alice"][3] == "CN=alice,OU=ops,O=Example"
    data = json.loads(ca("list", "--json").stdout)["data"]
    assert [c["name"] for c in data["certificates"]] == ["gateway", "alice", "bob", "dave"]

    crl = ca("crl", "--days", "14", "--out", "client-ca.crl")
    assert crl.exit_code == 0 and "number 3: 1 revoked" in crl.stdout
    check = cli("ca", "check-crl", "client-ca.crl", "--ca-cert", "clients/ca.crt")
    assert check.exit_code == 0, check.stderr
    assert check.stdout.startswith("CRL client-ca.crl: signed by CN=Site CA,O=Example, number 3, 1 revoked")


def test_the_issued_client_files_are_what_gateway_selftest_reads(ca, tmp_path, repo):
    for name in ("alice", "carol"):
        assert ca("issue", "client", name, "--policy", str(repo / POLICY), "--out", "certs").exit_code == 0
    clients = json.loads((repo / POLICY).read_text())["clients"]
    assert sorted(find_certificates(tmp_path / "certs", clients)) == ["alice", "carol"]


def test_the_ca_directory_may_come_from_the_environment(ca, cli, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRGAPCTL_CA_DIR", str(tmp_path / "ca"))
    assert "CA CN=Site CA,O=Example in" in cli("ca", "list").stdout


@pytest.mark.parametrize(
    "args",
    [
        ["issue", "server", "gw", "--san", "gw", "--out", "o"],
        ["issue", "client", "alice", "--out", "o"],
        ["revoke", "alice"],
        ["crl"],
        ["list"],
    ],
)
def test_a_missing_ca_directory_is_one_line(cli, tmp_path, args):
    result = cli("ca", *args, "--dir", str(tmp_path / "nope"))
    stderr = _one_line_error(result, ExitCode.BAD_INPUT, f"CA directory {tmp_path / 'nope'} does not exist")
    assert "hint: create it with 'airgapctl ca init" in stderr


def test_init_refuses_an_existing_ca_before_asking_for_a_passphrase(ca, cli, tmp_path, monkeypatch):
    monkeypatch.delenv(passphrase_module.ENV_VAR)
    before = (tmp_path / "ca" / "ca.key").read_bytes()
    result = cli("ca", "init", "--dir", str(tmp_path / "ca"), "--name", "Another CA")
    _one_line_error(result, ExitCode.BAD_INPUT, "already holds a CA; refusing to overwrite it")
    assert (tmp_path / "ca" / "ca.key").read_bytes() == before


def test_init_refuses_bad_settings_before_asking_for_a_passphrase(cli, tmp_path, monkeypatch):
    monkeypatch.delenv(passphrase_module.ENV_VAR)
    monkeypatch.setattr(passphrase_module, "_on_terminal", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: pytest.fail("asked for a passphrase"))
    result = cli("ca", "init", "--dir", "ca", "--name", "Site CA", "--algorithm", "rsa")
    _one_line_error(result, ExitCode.BAD_INPUT, "--algorithm 'rsa' is not known")
    assert not (tmp_path / "ca").exists()


def test_no_passphrase_and_no_terminal_is_one_line_not_a_prompt(cli, tmp_path, monkeypatch):
    monkeypatch.delenv(passphrase_module.ENV_VAR)
    result = cli("ca", "init", "--dir", str(tmp_path / "ca"), "--name", "Site CA")
    stderr = _one_line_error(result, ExitCode.BAD_INPUT, "no CA passphrase given, and no terminal to ask on")
    assert f"set {passphrase_module.ENV_VAR}" in stderr
    assert not (tmp_path / "ca").exists()


def test_a_passphrase_file_is_read(cli, tmp_path, monkeypatch):
    monkeypatch.delenv(passphrase_module.ENV_VAR)
    secret = tmp_path / "passphrase"
    secret.write_text(CANARY + "\n")
    secret.chmod(0o600)
    assert cli("ca", "init", "--dir", "ca", "--name", "CA", "--passphrase-file", str(secret)).exit_code == 0
    issued = cli("ca", "issue", "client", "a", "--out", "c", "--dir", "ca", "--passphrase-file", str(secret))
    assert issued.exit_code == 0, issued.stderr
    secret.chmod(0o644)
    refused = cli("ca", "crl", "--dir", "ca", "--passphrase-file", str(secret))
    _one_line_error(refused, ExitCode.BAD_INPUT, "is readable by group or others (mode 0644)")


def test_a_wrong_passphrase_is_one_line(ca, monkeypatch):
    monkeypatch.setenv(passphrase_module.ENV_VAR, "not the passphrase at all")
    result = ca("issue", "client", "alice", "--out", "clients")
    _one_line_error(result, ExitCode.BAD_INPUT, "wrong passphrase")


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["revoke", "mallory"], "no certificate named 'mallory', and no such serial"),
        (["revoke", "alice", "--reason", "stolen"], "--reason 'stolen' is not a revocation reason"),
        (["issue", "client", "alice", "--out", "other"], "alice already has a valid client certificate"),
        (["issue", "server", "gw", "--san", "gw_1", "--out", "tls"], "--san 'gw_1' is neither a DNS name"),
        (["issue", "client", "bob", "--out", "clients"], "clients/bob.key already exists; refusing to overwrite it"),
        (["issue", "client", "Bob", "--out", "x"], "client name 'Bob' is not a valid name"),
        (["issue", "client", "x", "--subject", "CN=x", "--policy", "p.json", "--out", "x"], "not both"),
        (["issue", "client", "x", "--subject", "CN=x,OU=a;b", "--out", "x"], "OU value 'a;b' is not allowed"),
        (["issue", "client", "x", "--days", "4000", "--out", "x"], "would outlive the CA"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(ca, tmp_path, args, problem):
    assert ca("issue", "client", "alice", "--out", "clients").exit_code == 0
    (tmp_path / "clients" / "bob.key").write_text("someone else's")
    _one_line_error(ca(*args), ExitCode.BAD_INPUT, problem)
    assert (tmp_path / "clients" / "bob.key").read_text() == "someone else's"


def test_a_failing_crl_check_keeps_its_result_in_the_json_document(ca, cli, tmp_path):
    assert ca("crl", "--days", "3", "--out", "client-ca.crl").exit_code == 0
    result = cli("ca", "check-crl", "client-ca.crl", "--ca-cert", "ca/ca.crt", "--min-valid", "7", "--json")
    assert result.exit_code == ExitCode.FAILED
    document = json.loads(result.stdout)
    assert document["status"] == "failed"
    problem = document["data"]["problem"]
    assert problem.startswith("CRL client-ca.crl expires at ") and ", within 7 days: run 'airgapctl ca crl'" in problem
    assert document["errors"] == [{"exit_code": 1, "message": problem, "hint": None}]
    assert result.stderr == f"airgapctl: error: {problem}\n"


def test_issue_help_says_the_ca_certificate_is_written_alongside(cli):
    for kind in ("server", "client"):
        text = " ".join(cli("ca", "issue", kind, "--help").stdout.split())
        assert "NAME.crt and NAME.key (unencrypted, mode 0600), and ca.crt, the CA certificate" in text


def test_the_passphrase_is_never_printed_nor_stored_in_clear(cli, tmp_path, monkeypatch, repo):
    """A distinctive passphrase, through every command, failing or not, text or --json, with --debug too."""
    outputs = []

    def run(*args: str):
        for extra in ([], ["--json"]):
            if extra and args[:2] == ("ca", "init"):
                continue
            result = cli(*args, *extra)
            outputs.extend([result.stdout, result.stderr])
        return result

    d = ["--dir", "ca"]
    assert run("ca", "init", *d, "--name", "Site CA", "--org", "Example").exit_code == 0
    run("ca", "issue", "server", "gateway", "--san", "127.0.0.1", "--out", "tls", *d)
    run("ca", "issue", "client", "alice", "--policy", str(repo / POLICY), "--out", "clients", *d)
    run("ca", "issue", "client", "bob", "--out", "clients", *d)
    run("ca", "list", *d)
    run("ca", "revoke", "bob", *d)
    run("ca", "crl", "--out", "client-ca.crl", *d)
    run("ca", "check-crl", "client-ca.crl", "--ca-cert", "ca/ca.crt")
    run("ca", "init", *d, "--name", "Again")  # refused
    monkeypatch.setenv(passphrase_module.ENV_VAR, CANARY + "-wrong")
    run("ca", "issue", "client", "carol", "--out", "clients", *d)  # wrong passphrase
    run("--debug", "ca", "crl", *d)
    assert any("wrong passphrase" in text for text in outputs)
    for text in outputs:
        assert CANARY not in text
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) > 10
    for path in files:
        assert CANARY.encode() not in path.read_bytes(), path
