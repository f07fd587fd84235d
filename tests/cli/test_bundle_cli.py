"""``airgapctl bundle``: exit codes, one-line errors, and --json documents that parse."""

from __future__ import annotations

import json

import pytest

from airgapctl.errors import ExitCode
from tests.unit.test_bundle_support import DEFAULT_FILES, write_tree


@pytest.fixture
def site(tmp_path, cli):
    """Keys, a sealed bundle (sequence 1) and the site's state/ledger paths."""
    private, public = tmp_path / "keys" / "site.key", tmp_path / "keys" / "site.pub"
    (tmp_path / "keys").mkdir()
    assert cli("bundle", "keygen", "--private", str(private), "--public", str(public)).exit_code == 0
    root = write_tree(tmp_path / "b", DEFAULT_FILES)
    sealed = cli(
        "bundle",
        "seal",
        str(root),
        "--name",
        "site-a",
        "--version",
        "1.0",
        "--sequence",
        "1",
        "--key",
        str(private),
        "--sbom",
        "sbom.cdx.json",
        "--expires",
        "2099-01-01",
    )
    assert sealed.exit_code == 0, sealed.stderr
    return {
        "root": root,
        "private": private,
        "public": public,
        "state": tmp_path / "state",
        "ledger": tmp_path / "l.jsonl",
    }


def _verify(cli, site, *extra):
    return cli(
        "bundle",
        "verify",
        str(site["root"]),
        "--pubkey",
        str(site["public"]),
        "--state",
        str(site["state"]),
        "--ledger",
        str(site["ledger"]),
        *extra,
    )


def _json(result) -> dict:
    document = json.loads(result.stdout)
    assert document["schema_version"] == 1
    return document


def test_keygen_json_and_refusal_to_overwrite(tmp_path, cli):
    result = cli("bundle", "keygen", "--private", str(tmp_path / "k"), "--public", str(tmp_path / "k.pub"), "--json")
    assert result.exit_code == 0
    assert len(_json(result)["data"]["key_id"]) == 64
    again = cli("bundle", "keygen", "--private", str(tmp_path / "k"), "--public", str(tmp_path / "k2.pub"))
    assert again.exit_code == ExitCode.BAD_INPUT
    assert again.stderr.startswith("airgapctl: error: ") and "already exists" in again.stderr


def test_inspect_json_says_it_did_not_verify(cli, site):
    document = _json(cli("bundle", "inspect", str(site["root"]), "--json"))
    assert document["data"]["name"] == "site-a"
    assert document["data"]["signature_checked"] is False
    text = cli("bundle", "inspect", str(site["root"]))
    assert "NOT verified" in text.stdout


def test_verify_accepts_then_refuses_the_replay(cli, site):
    accepted = _verify(cli, site, "--json")
    assert accepted.exit_code == 0, accepted.stderr
    data = _json(accepted)["data"]
    assert (data["name"], data["sequence"], data["sequence_checked"]) == ("site-a", 1, True)
    replay = _verify(cli, site, "--json")
    assert replay.exit_code == ExitCode.BUNDLE_ROLLBACK == 14
    assert replay.stderr.splitlines()[0] == (
        "airgapctl: error: replay: bundle site-a sequence 1 is not newer than the last accepted sequence 1"
    )
    document = _json(replay)
    assert document["status"] == "rejected" and document["errors"][0]["exit_code"] == 14
    downgrade = _verify(cli, site, "--allow-downgrade")
    assert downgrade.exit_code == 0
    assert "warning: accepted as a deliberate replay" in downgrade.stderr
    ledger = _json(cli("bundle", "ledger", "verify", str(site["ledger"]), "--json"))["data"]
    assert (ledger["entries"], ledger["accepted"], ledger["rejected"]) == (3, 2, 1)


@pytest.mark.parametrize(
    ("mutation", "code", "message"),
    [
        ("alter", ExitCode.BUNDLE_FILE_ALTERED, "file altered: specs/orders.yaml"),
        ("remove", ExitCode.BUNDLE_FILE_MISSING, "file missing: specs/orders.yaml"),
        ("extra", ExitCode.BUNDLE_FILE_EXTRA, "file not in the manifest: extra.txt"),
        ("unsign", ExitCode.BUNDLE_SIGNATURE, "manifest.json.sig is missing"),
        ("symlink", ExitCode.BUNDLE_UNSAFE_ENTRY, "link is a symlink"),
    ],
)
def test_verify_rejections_exit_with_their_codes(cli, site, mutation, code, message):
    root = site["root"]
    {
        "alter": lambda: (root / "specs/orders.yaml").write_text("openapi: 3.0.0\n"),
        "remove": lambda: (root / "specs/orders.yaml").unlink(),
        "extra": lambda: (root / "extra.txt").write_text("x"),
        "unsign": lambda: (root / "manifest.json.sig").unlink(),
        "symlink": lambda: (root / "link").symlink_to("/etc/passwd"),
    }[mutation]()
    result = _verify(cli, site)
    assert result.exit_code == code
    assert result.stdout == ""
    assert result.stderr.startswith("airgapctl: error: ") and message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (site["state"] / "accepted.json").exists()


def test_check_only_records_nothing(cli, site):
    result = cli(
        "bundle",
        "verify",
        str(site["root"]),
        "--pubkey",
        str(site["public"]),
        "--check-only",
        "--state",
        str(site["state"]),
        "--ledger",
        str(site["ledger"]),
    )
    assert result.exit_code == 0
    assert "sequence: NOT checked" in result.stdout
    assert not site["state"].exists() and not site["ledger"].exists()


def test_split_verify_part_and_join(tmp_path, cli, site):
    split = cli(
        "bundle",
        "split",
        str(site["root"]),
        "--part-size",
        "4K",
        "--out",
        str(tmp_path / "parts"),
        "--key",
        str(site["private"]),
        "--json",
    )
    assert split.exit_code == 0, split.stderr
    parts = _json(split)["data"]["parts"]
    checked = cli(
        "bundle", "verify-part", str(tmp_path / "parts" / "part0001"), "--pubkey", str(site["public"]), "--json"
    )
    assert checked.exit_code == 0 and _json(checked)["data"]["count"] == len(parts)
    media = [str(p) for p in sorted((tmp_path / "parts").iterdir())]
    missing = cli("bundle", "join", *media[1:], "--out", str(tmp_path / "j"), "--pubkey", str(site["public"]))
    assert missing.exit_code == ExitCode.BUNDLE_PART_MISSING == 20
    assert "site-a-1.part0001" in missing.stderr
    joined = cli("bundle", "join", *media, "--out", str(tmp_path / "joined"), "--pubkey", str(site["public"]))
    assert joined.exit_code == 0, joined.stderr
    site["root"] = tmp_path / "joined"
    assert _verify(cli, site).exit_code == 0


def test_pack_and_unpack(tmp_path, cli, site):
    packed = cli("bundle", "pack", str(site["root"]), "--out", str(tmp_path / "b.tar.gz"), "--json")
    assert packed.exit_code == 0 and _json(packed)["data"]["compressed"] is True
    unpacked = cli("bundle", "unpack", str(tmp_path / "b.tar.gz"), "--out", str(tmp_path / "u"), "--json")
    assert unpacked.exit_code == 0 and _json(unpacked)["data"]["files"] == len(DEFAULT_FILES) + 2
    again = cli("bundle", "unpack", str(tmp_path / "b.tar.gz"), "--out", str(tmp_path / "u"))
    assert again.exit_code == ExitCode.BAD_INPUT


def test_ledger_verify_names_the_broken_line(cli, site):
    _verify(cli, site)
    _verify(cli, site)
    _verify(cli, site)
    lines = site["ledger"].read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace("every check passed", "every check passed!")
    site["ledger"].write_text("".join(lines))
    result = cli("bundle", "ledger", "verify", str(site["ledger"]))
    assert result.exit_code == ExitCode.LEDGER_BROKEN == 18
    assert "line 1 was edited" in result.stderr


def test_bad_expiry_is_bad_input(tmp_path, cli, site):
    result = cli(
        "bundle",
        "seal",
        str(site["root"]),
        "--name",
        "site-a",
        "--version",
        "1",
        "--sequence",
        "2",
        "--key",
        str(site["private"]),
        "--expires",
        "next tuesday",
    )
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "invalid time 'next tuesday'" in result.stderr
