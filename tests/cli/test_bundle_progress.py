"""Progress of ``bundle build``, ``seal`` and ``verify``: on stderr only, and never with --json."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from airgapctl import progress
from tests.unit.test_bundle_support import DEFAULT_FILES, write_tree


@pytest.fixture
def keys(tmp_path, cli):
    private, public = tmp_path / "site.key", tmp_path / "site.pub"
    assert cli("bundle", "keygen", "--private", str(private), "--public", str(public)).exit_code == 0
    return private, public


@pytest.fixture
def fake_terminal(monkeypatch):
    """stderr (captured by pytest) taken for a terminal, so bars are drawn with \\r."""
    monkeypatch.setattr(progress, "_is_terminal", lambda stream: True)


def _seal(cli, root, private, *extra):
    return cli("bundle", "seal", str(root), "--name", "s", "--version", "1", "--sequence", "1",
               "--key", str(private), *extra)  # fmt: skip


def _build(cli, tmp_path, private, *extra):
    """A build without downloads (one file, no apt, no wheels, no toolkit): only the hashing bar."""
    write_tree(tmp_path / "src", {"motd.txt": b"hello\n" * 100})
    spec = tmp_path / "bundle.yml"
    spec.write_text(yaml.safe_dump({"version": 1, "name": "x", "release": "1", "sequence": 1,
                                    "files": [{"src": "src/motd.txt"}], "wheels": {"airgapctl": False},
                                    "toolkit": False}))  # fmt: skip
    return cli("bundle", "build", str(spec), "--out", str(tmp_path / "out"), "--key", str(private), *extra)


def test_verify_on_a_fake_terminal_draws_the_hashing_bar_on_stderr(tmp_path, cli, keys, fake_terminal):
    root = write_tree(tmp_path / "b", DEFAULT_FILES)
    assert _seal(cli, root, keys[0]).exit_code == 0
    result = cli("bundle", "verify", str(root), "--pubkey", str(keys[1]), "--check-only")
    assert result.exit_code == 0, result.stderr
    assert "\rhashing  [####################] 100%" in result.stderr
    assert "\r" not in result.stdout and "hashing" not in result.stdout


@pytest.mark.parametrize("terminal", [True, False], ids=["fake terminal", "pipe"])
def test_json_mode_prints_no_progress(tmp_path, cli, keys, monkeypatch, terminal):
    monkeypatch.setattr(progress, "_is_terminal", lambda stream: terminal)
    root = write_tree(tmp_path / "b", DEFAULT_FILES)
    sealed = _seal(cli, root, keys[0], "--json")
    verified = cli("bundle", "verify", str(root), "--pubkey", str(keys[1]), "--check-only", "--json")
    built = _build(cli, tmp_path, keys[0], "--json")
    for result in (sealed, verified, built):
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["status"] == "ok"
        assert "\r" not in result.stderr and "hashing:" not in result.stderr and "[" not in result.stderr
    assert "hashing" not in sealed.stderr + verified.stderr


def test_verify_in_a_pipe_adds_no_progress_lines(tmp_path, cli, keys):
    root = write_tree(tmp_path / "b", DEFAULT_FILES)
    assert _seal(cli, root, keys[0]).exit_code == 0
    result = cli("bundle", "verify", str(root), "--pubkey", str(keys[1]), "--check-only")
    assert result.stderr == "warning: sequence not checked: no state directory given\n"


def test_build_in_a_pipe_logs_phases_and_one_start_and_final_line_per_bar(tmp_path, cli, keys):
    result = _build(cli, tmp_path, keys[0])
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert "\r" not in result.stderr
    assert lines[:3] == ["bundle: specs…", "bundle: files…", "bundle: hashing and signing…"]
    assert re.fullmatch(r"hashing: [0-9.]+ KiB in 2 files…", lines[3])  # the file and the SBOM
    assert re.fullmatch(r"hashing: [0-9.]+ KiB, 2 files in [0-9.]+ s \([0-9.]+ [KMG]?i?B/s\)", lines[4])
    assert len(lines) == 5
    assert "SECTION" in result.stdout and "hashing" not in result.stdout
