"""The bypass suite's site, written for a gateway provisioned by the gateway_proxy role.

python -m tests.integration.gateway.bypass_site DIR writes the scenario policy (upstream on
127.0.0.1:8081), its CA, server and client identities (expired and revoked ones too), the CRL,
and DIR/selftest with the clients the role's self-test may act as (none with a rate limit,
which the self-test does not model). Run on the controller by the role's Molecule verify.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from tests.integration.gateway import pki
from tests.integration.gateway.scenario import ALICE, make_identities, scenario_policy

UPSTREAM_PORT = 8081
DEAD_PORT = 8099  # the scenario's API with no upstream listening
SELFTEST_CLIENTS = ("alice", "bob")


def write_site(directory: Path) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    identities = make_identities(directory)
    pki.issue(identities.authority, directory, "expired", ALICE, expired=True)
    revoked = pki.issue(identities.authority, directory, "revoked", ALICE)
    crl = pki.revocation_list(identities.authority, [revoked], directory / "client-ca.crl")
    policy = directory / "policy.json"
    policy.write_text(json.dumps(scenario_policy(UPSTREAM_PORT, dead_port=DEAD_PORT), indent=2))
    selftest = directory / "selftest"
    selftest.mkdir(exist_ok=True)
    for name in SELFTEST_CLIENTS:
        for suffix in (".crt", ".key"):
            shutil.copy2(directory / f"{name}{suffix}", selftest / f"{name}{suffix}")
    site = {
        "policy": str(policy),
        "ca": str(identities.ca),
        "crl": str(crl),
        "server_cert": str(identities.server.cert),
        "server_key": str(identities.server.key),
        "selftest": str(selftest),
    }
    (directory / "site.json").write_text(json.dumps(site, indent=2))
    return site


if __name__ == "__main__":
    print(json.dumps(write_site(Path(sys.argv[1]))))
