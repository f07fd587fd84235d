"""Media is cut only from tested roles: the test record signed into the manifest, and its check.

The attestation names the digest of every role and playbook file as the test run saw them.
``bundle verify --require-attestation`` recomputes that digest from the bundle's own
(already hash-checked) toolkit entries and refuses media whose roles differ from the tested
ones or whose tests did not pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from airgapctl.bundle.manifest import Manifest
from airgapctl.errors import BundleAttestationError

ATTESTATION_SCHEMA = "airgapctl/attestation"
ATTESTED_PARTS = ("roles", "playbooks")


def toolkit_digest(files: Iterable[tuple[str, str]]) -> str:
    """sha256 over sorted ``<path> <sha256>`` lines of the roles' and playbooks' files.

    Paths are relative to the project (``roles/x/tasks/main.yml``), as in the bundle's toolkit/.
    """
    attested = sorted((path, digest) for path, digest in files if path.split("/", 1)[0] in ATTESTED_PARTS)
    return hashlib.sha256("".join(f"{path} {digest}\n" for path, digest in attested).encode()).hexdigest()


def check_attestation(manifest: Manifest) -> dict:
    """Raise unless the manifest carries a passing test record for exactly the roles it carries."""
    record = manifest.attestation
    if not isinstance(record, dict) or record.get("schema") != ATTESTATION_SCHEMA:
        raise BundleAttestationError(
            f"bundle {manifest.name} sequence {manifest.sequence} carries no test attestation",
            hint="cut media with make media (tests, then bundle build --attest)",
        )
    tests = record.get("tests", {})
    if tests.get("passed") is not True:
        raise BundleAttestationError(
            f"bundle {manifest.name}: the attested test run did not pass ({tests.get('summary')})"
        )
    carried = toolkit_digest(
        (entry.path.removeprefix("toolkit/"), entry.sha256)
        for entry in manifest.files
        if entry.path.startswith("toolkit/")
    )
    if carried != record.get("toolkit_sha256"):
        raise BundleAttestationError(
            f"bundle {manifest.name}: its roles and playbooks (digest {carried[:12]}) are not the tested ones "
            f"(digest {str(record.get('toolkit_sha256'))[:12]})",
            hint="cut the media again from the tested commit",
        )
    return record
