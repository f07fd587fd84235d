"""``airgapctl sync``: exit codes, one-line errors, and --json envelopes."""

from __future__ import annotations

import json

import pytest

from airgapctl.errors import ExitCode
from airgapctl.schemas import validator
from tests.unit.test_bundle_support import make_keys, write_tree


@pytest.fixture
def site(tmp_path):
    private, public = make_keys(tmp_path / "keys")
    data = write_tree(tmp_path / "data", {"report.json": b'{"findings":0}\n', "logs/summary.txt": b"ok\n"})
    return {"private": private, "public": public, "data": data, "ledger": tmp_path / "ledger.jsonl"}


def _export(cli, site, out, *extra):
    return cli("sync", "export", "--out", str(out), "--key", str(site["private"]), "--site", "site-a",
               "--ledger", str(site["ledger"]), *extra)  # fmt: skip


def _import(cli, site, package, dest, *extra):
    return cli("sync", "import", str(package), "--pubkey", str(site["public"]), "--dest", str(dest),
               "--ledger", str(site["ledger"]), "--state", str(site["ledger"].parent / "state"), *extra)  # fmt: skip


def _envelope(result) -> dict:
    document = json.loads(result.stdout)
    validator("envelope").validate(document)
    return document


def _one_line_error(result) -> str:
    lines = result.stderr.splitlines()
    assert lines[0].startswith("airgapctl: error: ") and "Traceback" not in result.stderr
    assert all(line.startswith("hint: ") for line in lines[1:]) and len(lines) <= 2
    return lines[0]


def test_export_then_import_with_json(cli, site, tmp_path):
    includes = ["--include", f"audit/report.json={site['data'] / 'report.json'}",
                "--include", f"logs={site['data'] / 'logs'}"]  # fmt: skip
    exported = _export(cli, site, tmp_path / "pkg", *includes, "--sequence", "5", "--json")
    assert exported.exit_code == 0, exported.stderr
    data = _envelope(exported)["data"]
    assert (data["site"], data["sequence"]) == ("site-a", 5)
    assert data["files"] == ["audit/report.json", "logs/summary.txt"]
    imported = _import(cli, site, tmp_path / "pkg", tmp_path / "dest", "--json")
    assert imported.exit_code == 0, imported.stderr
    document = _envelope(imported)
    assert document["status"] == "ok" and document["data"]["manifest_sha256"] == data["manifest_sha256"]
    assert document["data"]["sequence_checked"] and document["data"]["previous_sequence"] is None
    assert (tmp_path / "dest" / "logs" / "summary.txt").read_bytes() == b"ok\n"
    ledger = cli("bundle", "ledger", "verify", str(site["ledger"]))
    assert "2 entries (1 accepted, 0 rejected, 1 exported)" in ledger.stdout


def test_text_output_and_a_list_file(cli, site, tmp_path):
    listing = tmp_path / "export.yml"
    listing.write_text(f"- name: audit/report.json\n  path: {site['data'] / 'report.json'}\n")
    exported = _export(cli, site, tmp_path / "pkg", "--from-list", str(listing))
    assert exported.exit_code == 0, exported.stderr
    assert "package site-a " in exported.stdout and "exported to" in exported.stdout
    imported = _import(cli, site, tmp_path / "pkg", tmp_path / "dest", "--expect-site", "site-a")
    assert imported.exit_code == 0, imported.stderr
    assert ": accepted" in imported.stdout and "previous accepted none" in imported.stdout


def test_a_secret_is_refused_in_one_line(cli, site, tmp_path):
    vault = write_tree(tmp_path / "inventory" / "vault", {"creds.yml": b"x: 1\n"})
    result = _export(cli, site, tmp_path / "pkg", "--include", f"creds.yml={vault / 'creds.yml'}")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "may hold secrets: it is below a 'vault' directory" in _one_line_error(result)
    assert not (tmp_path / "pkg").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [([], "nothing to export"), (["--include", "no-equals-sign"], "is not NAME=PATH")],
)
def test_bad_declarations_are_bad_input(cli, site, tmp_path, args, message):
    result = _export(cli, site, tmp_path / "pkg", *args, "--json")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert message in _one_line_error(result)
    document = _envelope(result)
    assert document["status"] == "error" and document["errors"][0]["exit_code"] == ExitCode.BAD_INPUT


def test_a_tampered_package_is_rejected_with_its_class(cli, site, tmp_path):
    exported = _export(cli, site, tmp_path / "pkg", "--include", f"r.json={site['data'] / 'report.json'}")
    assert exported.exit_code == 0, exported.stderr
    (tmp_path / "pkg" / "r.json").write_bytes(b'{"findings":1}\n')
    result = _import(cli, site, tmp_path / "pkg", tmp_path / "dest", "--json")
    assert result.exit_code == ExitCode.BUNDLE_FILE_ALTERED
    assert "file altered: r.json" in _one_line_error(result)
    document = _envelope(result)
    assert document["status"] == "rejected" and document["errors"][0]["exit_code"] == 13
    assert not (tmp_path / "dest").exists()
    last = json.loads(site["ledger"].read_text().splitlines()[-1])
    assert (last["result"], last["exit_code"]) == ("rejected", 13)


def test_another_key_and_another_site_are_refused(cli, site, tmp_path):
    exported = _export(cli, site, tmp_path / "pkg", "--include", f"r.json={site['data'] / 'report.json'}")
    assert exported.exit_code == 0, exported.stderr
    other = make_keys(tmp_path / "other", "other")
    foreign = cli("sync", "import", str(tmp_path / "pkg"), "--pubkey", str(other[1]), "--dest",
                  str(tmp_path / "d1"), "--ledger", str(site["ledger"]))  # fmt: skip
    assert foreign.exit_code == ExitCode.BUNDLE_SIGNATURE
    assert "signature does not verify" in _one_line_error(foreign)
    elsewhere = _import(cli, site, tmp_path / "pkg", tmp_path / "d2", "--expect-site", "site-b")
    assert elsewhere.exit_code == ExitCode.BUNDLE_UNEXPECTED_NAME
    assert "'site-a' is not the bundle this site takes" in _one_line_error(elsewhere)


def test_a_bundle_verify_of_a_package_is_refused(cli, site, tmp_path):
    exported = _export(cli, site, tmp_path / "pkg", "--include", f"r.json={site['data'] / 'report.json'}")
    assert exported.exit_code == 0, exported.stderr
    result = cli("bundle", "verify", str(tmp_path / "pkg"), "--pubkey", str(site["public"]), "--check-only")
    assert result.exit_code == ExitCode.BUNDLE_MANIFEST_INVALID
    assert "is a data package, not a bundle" in _one_line_error(result)
