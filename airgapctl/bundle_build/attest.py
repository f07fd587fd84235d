"""The test record a media cut carries: which commit, which roles and playbooks, what passed."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from airgapctl.bundle.attestation import ATTESTATION_SCHEMA, ATTESTED_PARTS, toolkit_digest
from airgapctl.bundle_build.assemble import default_project_dir
from airgapctl.bundle_build.bundle_file import sha256_file
from airgapctl.bundle_build.toolkit_parts import toolkit_tree
from airgapctl.errors import BadInputError

MOLECULE_TEST = "test_molecule_scenario_passes["


def project_toolkit_digest(project: Path) -> str:
    """The digest of the roles and playbooks as the bundle's toolkit section will carry them."""
    files = []
    for part in ATTESTED_PARTS:
        files += [(p.relative_to(project).as_posix(), sha256_file(p)) for p in toolkit_tree(project / part)]
    return toolkit_digest(files)


def junit_outcome(junit: Path) -> dict[str, Any]:
    """Counts and per-role Molecule outcomes from pytest's JUnit XML."""
    try:
        root = ET.parse(junit).getroot()  # noqa: S314 - written by our own pytest run
    except (OSError, ET.ParseError) as error:
        raise BadInputError(f"--junit: {junit}: not a readable JUnit XML file ({error})") from None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    counts = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
    molecule = {}
    for case in root.iter("testcase"):
        name = case.get("name", "")
        if name.startswith(MOLECULE_TEST):
            failed = case.find("failure") is not None or case.find("error") is not None
            molecule[name[len(MOLECULE_TEST) : -1]] = "failed" if failed else "passed"
    passed = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return {
        "passed": counts["tests"] > 0 and counts["failures"] == counts["errors"] == 0 and bool(molecule),
        "summary": f"{passed} passed, {counts['failures'] + counts['errors']} failed, {counts['skipped']} skipped",
        "pytest": counts,
        "molecule": molecule,
    }


def _git(project: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(project), *args], capture_output=True, text=True, check=False)
    return proc.stdout.strip()


def write_attestation(junit: Path, out: Path, project: Path | None = None) -> dict[str, Any]:
    project = project or default_project_dir()
    record = {
        "schema": ATTESTATION_SCHEMA,
        "schema_version": 1,
        "commit": _git(project, "rev-parse", "HEAD") or "unknown",
        "dirty": bool(_git(project, "status", "--porcelain", "--", *ATTESTED_PARTS)),
        "toolkit_sha256": project_toolkit_digest(project),
        "tests": junit_outcome(junit),
        "recorded": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    out.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record
