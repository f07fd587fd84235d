"""A real bundle build (apt closure against the lab image, SBOM, seal) and what verify says of it.

The shared bundle is built by `airgapctl bundle build` installed from a wheel into a venv of its
own (tests/integration/conftest.py): the build needs no checkout, only its explicit inputs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

from airgapctl.bundle_build.build import tree_files
from airgapctl.bundle_build.bundle_file import sha256_file
from airgapctl.bundle_build.inputs import TOOLKIT_PARTS
from airgapctl.bundle_build.toolkit_parts import carried
from airgapctl.errors import ExitCode
from tests.integration.conftest import REPO, run_outside

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


def test_the_installed_airgapctl_is_the_wheels_not_the_checkouts(test_bundle, tmp_path):
    python = str(test_bundle.venv / "bin" / "python")
    code = "import airgapctl, sysconfig; print(airgapctl.__file__); print(sysconfig.get_paths()['purelib'])"
    module, purelib = run_outside([python, "-c", code], cwd=tmp_path).stdout.split()
    assert Path(module).is_relative_to(purelib), module
    assert not Path(module).is_relative_to(REPO / "airgapctl")
    assert purelib != sysconfig.get_paths()["purelib"]  # not the venv the tests run in either
    record = json.loads(test_bundle.build_record.read_text())["data"]
    assert Path(record["inputs"]["toolkit"]).is_relative_to(purelib)  # the toolkit the wheel carries
    assert record["inputs"]["airgapctl_wheel"] == str(test_bundle.wheel)
    assert record["inputs"]["baseline"].endswith("/dpkg-status")


def test_the_bundle_built_from_the_wheel_verifies_with_its_toolkit_and_wheels(test_bundle, tmp_path):
    airgapctl = str(test_bundle.venv / "bin" / "airgapctl")
    run_outside([airgapctl, "bundle", "verify", str(test_bundle.path), "--pubkey", str(test_bundle.public_key),
                 "--check-only"], cwd=tmp_path)  # fmt: skip
    manifest = json.loads((test_bundle.path / "manifest.json").read_text())
    toolkit = {f["path"]: f["sha256"] for f in manifest["files"] if f["kind"] == "toolkit"}
    packaged = "airgapctl/bundle_build/toolkit/"
    with zipfile.ZipFile(test_bundle.wheel) as wheel:
        in_wheel = {"toolkit/" + n[len(packaged) :]: hashlib.sha256(wheel.read(n)).hexdigest()
                   for n in wheel.namelist() if n.startswith(packaged)}  # fmt: skip
    assert toolkit == in_wheel  # the toolkit the installed wheel carries, file for file
    roots = [test_bundle.source / part for part in TOOLKIT_PARTS]
    checkout = [p for root in roots for p in (tree_files(root) if root.is_dir() else [root])]
    source = {f"toolkit/{p.relative_to(test_bundle.source).as_posix()}": sha256_file(p) for p in checkout if carried(p)}
    assert toolkit == source  # ... which is the checkout's, as the wheel was built from it
    sealed = "toolkit/inventory/example-site/group_vars/gateways/vault.yml"
    assert sealed not in toolkit and (test_bundle.source / sealed.removeprefix("toolkit/")).is_file()
    wheels = {Path(f["path"]).name: f["sha256"] for f in manifest["files"] if f["kind"] == "wheel"}
    assert wheels[test_bundle.wheel.name] == sha256_file(test_bundle.wheel)
    names = {name.split("-")[0].lower() for name in wheels}
    assert {"airgapctl", "typer", "pyyaml", "cryptography", "duckdb", "ansible_core"} <= names
