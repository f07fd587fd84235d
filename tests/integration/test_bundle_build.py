"""A real bundle build (apt closure against the lab image, SBOM, seal) and what verify says of it."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from airgapctl.errors import ExitCode

pytestmark = pytest.mark.integration


def test_the_shared_test_bundle_verifies_and_carries_an_sbom(test_bundle, cli):
    result = cli("bundle", "verify", str(test_bundle.path), "--pubkey", str(test_bundle.public_key), "--check-only")
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((test_bundle.path / "manifest.json").read_text())
    debs = {f["path"]: f["sha256"] for f in manifest["files"] if f["kind"] == "apt" and f["path"].endswith(".deb")}
    assert any("/nginx" in path for path in debs)
    sbom = json.loads((test_bundle.path / manifest["sbom"]).read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    components = {c["bom-ref"]: c for c in sbom["components"]}
    for path, digest in debs.items():
        assert components[path]["hashes"] == [{"alg": "SHA-256", "content": digest}]
        assert components[path]["purl"].startswith("pkg:deb/debian/")


def test_a_tampered_copy_is_refused_with_its_own_exit_code(test_bundle, cli, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(test_bundle.path, copy)
    deb = next((copy / "apt" / "pool").glob("*.deb"))
    deb.write_bytes(deb.read_bytes() + b"x")
    result = cli("bundle", "verify", str(copy), "--pubkey", str(test_bundle.public_key), "--check-only")
    assert result.exit_code == ExitCode.BUNDLE_FILE_ALTERED
    assert f"apt/pool/{deb.name}" in result.stderr


def test_an_unknown_package_is_bad_input(test_bundle, cli, tmp_path):
    spec = tmp_path / "bundle.yml"
    spec.write_text(yaml.safe_dump({"version": 1, "name": "x", "release": "1", "sequence": 1,
                                    "apt": ["no-such-package-airgapctl"], "wheels": {"airgapctl": False},
                                    "toolkit": False}))  # fmt: skip
    result = cli("bundle", "build", str(spec), "--out", str(tmp_path / "out"), "--key", str(test_bundle.private_key))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "apt.packages: unknown package 'no-such-package-airgapctl'" in result.stderr
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "out.partial").exists()
