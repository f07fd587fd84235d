"""Media is cut only from tested roles: the attestation signed into the manifest, and its check."""

from __future__ import annotations

import shutil

import pytest

from airgapctl.bundle import seal_bundle
from airgapctl.bundle.keys import generate_keypair
from airgapctl.bundle.verify import verify_bundle
from airgapctl.bundle_build.attest import junit_outcome, project_toolkit_digest, write_attestation
from airgapctl.errors import BundleAttestationError, ExitCode

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites>
<testsuite name="pytest" errors="0" failures="{f}" skipped="0" tests="3">
<testcase classname="tests.integration.test_molecule" name="test_molecule_scenario_passes[base]"/>
<testcase classname="t" name="test_a"/><testcase classname="t" name="test_b">{failure}</testcase>
</testsuite></testsuites>"""


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    (root / "roles/base/tasks").mkdir(parents=True)
    (root / "roles/base/tasks/main.yml").write_text("---\n- name: x\n  ansible.builtin.debug:\n")
    (root / "playbooks").mkdir()
    (root / "playbooks/site.yml").write_text("---\n")
    (root / "README.md").write_text("not attested\n")
    return root


@pytest.fixture
def keys(tmp_path):
    pair = generate_keypair(tmp_path / "k.key", tmp_path / "k.pub")
    return tmp_path / "k.key", tmp_path / "k.pub", pair


def sealed(tmp_path, project, keys, record, name="media"):
    bundle = tmp_path / name
    for part in ("roles", "playbooks"):
        shutil.copytree(project / part, bundle / "toolkit" / part)
    seal_bundle(bundle, "site", "1", 1, keys[0], lambda p: "toolkit", attestation=record)
    return bundle


def junit(tmp_path, failed=False):
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT.format(f=int(failed), failure='<failure message="boom"/>' if failed else ""))
    return path


def test_attested_media_verifies(tmp_path, project, keys):
    record = write_attestation(junit(tmp_path), tmp_path / "attest.json", project)
    assert record["tests"]["passed"] is True and record["tests"]["molecule"] == {"base": "passed"}
    result = verify_bundle(sealed(tmp_path, project, keys, record), keys[1], require_attestation=True)
    assert result.name == "site"


def test_media_without_attestation_is_refused(tmp_path, project, keys):
    with pytest.raises(BundleAttestationError, match="carries no test attestation") as exc:
        verify_bundle(sealed(tmp_path, project, keys, None), keys[1], require_attestation=True)
    assert exc.value.exit_code == ExitCode.BUNDLE_ATTESTATION == 22


def test_media_whose_tests_failed_is_refused(tmp_path, project, keys):
    record = write_attestation(junit(tmp_path, failed=True), tmp_path / "attest.json", project)
    with pytest.raises(BundleAttestationError, match="did not pass"):
        verify_bundle(sealed(tmp_path, project, keys, record), keys[1], require_attestation=True)


def test_media_with_untested_roles_is_refused(tmp_path, project, keys):
    record = write_attestation(junit(tmp_path), tmp_path / "attest.json", project)
    (project / "roles/base/tasks/main.yml").write_text("---\n- name: changed after the tests\n")
    with pytest.raises(BundleAttestationError, match="are not the tested ones"):
        verify_bundle(sealed(tmp_path, project, keys, record), keys[1], require_attestation=True)


def test_digest_ignores_files_outside_roles_and_playbooks(project):
    before = project_toolkit_digest(project)
    (project / "README.md").write_text("changed\n")
    assert project_toolkit_digest(project) == before


def test_a_run_without_molecule_does_not_count_as_passed(tmp_path):
    path = tmp_path / "j.xml"
    path.write_text('<testsuite tests="1" failures="0" errors="0" skipped="0"><testcase name="t"/></testsuite>')
    assert junit_outcome(path)["passed"] is False
